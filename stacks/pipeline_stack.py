"""PipelineStack: CDK Pipelines from a CodeConnections source through every stage of stages.json.

Synth runs `make setup`, `make test`, builds the artifact and synthesizes; each stage deploys its
endpoint stack and verifies it (JUnit report published); every stage after the first waits for a
manual approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import pipelines
from constructs import Construct

from stacks.checkov import skip_check
from stacks.constructs.buckets import LoggedBucket
from stacks.endpoint_stack import KMeansEndpointStack
from stacks.pipeline_nag import acknowledge_pipeline_findings
from stacks.settings import Settings
from stacks.stages import stage_stack_name

REPORT_DIR = "reports"
SYNTH_COMMANDS = [
    "make setup",
    "make check",
    "make test",
    "make build",
    "npx --no-install cdk synth --context pipeline=true",
]


@dataclass(frozen=True)
class PipelineSettings:
    connection_arn: str
    repository: str
    branch: str


class PipelineArtifacts(Construct):
    """The pipeline's artifact store: KMS-encrypted (rotating key), versioned, TLS-only, access-logged."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "Key", enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.DESTROY)
        stored = LoggedBucket(
            self,
            "Store",
            key=self.key,
            log_prefix="artifacts/",
            removal_policy=cdk.RemovalPolicy.RETAIN,
            replication_reason="Pipeline artifacts are rebuilt from the repository by every execution; replicating "
            "them adds no recovery a new execution does not give.",
        )
        self.bucket, self.access_logs = stored.bucket, stored.access_logs


class EndpointStage(cdk.Stage):
    """One deployment stage: the endpoint stack with that stage's settings and names."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.endpoint = KMeansEndpointStack(self, "Endpoint", settings=settings, stack_name=stage_stack_name(stage))


class PipelineStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_settings: PipelineSettings,
        stages: dict[str, Settings],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        source = pipelines.CodePipelineSource.connection(
            pipeline_settings.repository, pipeline_settings.branch, connection_arn=pipeline_settings.connection_arn
        )
        synth = pipelines.ShellStep("Synth", input=source, commands=SYNTH_COMMANDS)
        self.build_output = synth.add_output_directory("build")
        self.artifacts = PipelineArtifacts(self, "Artifacts")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=synth,
            code_pipeline=codepipeline.Pipeline(
                self,
                "CodePipeline",
                artifact_bucket=self.artifacts.bucket,
                pipeline_type=codepipeline.PipelineType.V2,
                restart_execution_on_update=True,
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0)
            ),
        )
        self.stages: dict[str, EndpointStage] = {}
        self._verify_steps: list[pipelines.CodeBuildStep] = []
        for index, (name, settings) in enumerate(stages.items()):
            stage = EndpointStage(self, name.capitalize(), stage=name, settings=settings)
            approval = [pipelines.ManualApprovalStep(f"Approve{name.capitalize()}")] if index else []
            self.pipeline.add_stage(stage, pre=approval, post=[self._verify_step(name, stage, source)])
            self.stages[name] = stage
        self.pipeline.build_pipeline()  # generate the roles and projects now, so the acks below can reach them
        acknowledge_pipeline_findings(self)
        self._skip_library_lint()

    def _skip_library_lint(self) -> None:
        """Skips, with reasons, for two things CDK Pipelines generates that this stack cannot shape."""
        code_pipeline = self.pipeline.pipeline.node.default_child
        assert isinstance(code_pipeline, cdk.CfnResource)
        # W3005: CDK adds a DependsOn beside the GetAtt of the same role. E3703 (prefer Fn::Sub): CDK
        # Pipelines writes the deploy actions' bootstrap-role ARNs with Fn::Join.
        code_pipeline.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005", "E3703"]}})
        assets = self.pipeline.node.find_child("Assets").node.find_child("FileRole").node.find_child("DefaultPolicy")
        skip_check(
            assets,
            "CKV_AWS_111",
            "CDK Pipelines' asset-publishing role starts and watches the CodeBuild builds it generates per asset; "
            "codebuild:StartBuild/BatchGetBuilds/StopBuild are granted on their generated projects by name only "
            "at run time.",
        )

    def verify_projects(self) -> list[codebuild.IProject]:
        """The CodeBuild projects of the verification steps (they exist once the pipeline is built)."""
        return [step.project for step in self._verify_steps]

    def _verify_step(
        self, name: str, stage: EndpointStage, source: pipelines.CodePipelineSource
    ) -> pipelines.CodeBuildStep:
        outputs = stage.endpoint.outputs
        step = pipelines.CodeBuildStep(
            f"Verify{name.capitalize()}",
            input=source,
            additional_inputs={"build": self.build_output},
            env_from_cfn_outputs={
                "VERIFY_ENDPOINT_NAME": outputs["EndpointName"],
                "VERIFY_ENDPOINT_CONFIG_NAME": outputs["EndpointConfigName"],
            },
            commands=[
                "make setup-deploy",
                '.venv/bin/python -m verification --endpoint "$VERIFY_ENDPOINT_NAME" '
                '--expect-config "$VERIFY_ENDPOINT_CONFIG_NAME" --reference build '
                f"--junit {REPORT_DIR}/verification.xml --json {REPORT_DIR}/verification.json",
            ],
            partial_build_spec=codebuild.BuildSpec.from_object(
                {
                    "reports": {
                        "verification": {
                            "files": ["verification.xml"],
                            "base-directory": REPORT_DIR,
                            "file-format": "JUNITXML",
                        }
                    }
                }
            ),
            role_policy_statements=_verifier_permissions(stage.endpoint),
        )
        self._verify_steps.append(step)
        return step


def _verifier_permissions(endpoint: KMeansEndpointStack) -> list[iam.PolicyStatement]:
    """What `python -m verification --endpoint` calls, on this stage's endpoint and artifact only."""
    stack = cdk.Stack.of(endpoint)
    arn = stack.format_arn
    return [
        iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
            resources=[arn(service="sagemaker", resource="endpoint", resource_name=endpoint.endpoint_name.lower())],
        ),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            resources=[
                arn(service="sagemaker", resource="endpoint-config", resource_name=f"{endpoint.stack_name.lower()}-*"),
                arn(service="sagemaker", resource="model", resource_name=f"{endpoint.stack_name.lower()}-*"),
            ],
        ),
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[endpoint.artifact.object_arn]),
    ]
