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
from aws_cdk import aws_kms as kms
from aws_cdk import pipelines
from constructs import Construct

from contract.stack import Output
from stacks.approval_trigger import ApprovalTrigger, package_reader_statements, resolve_statements
from stacks.checkov import skip_check
from stacks.constructs.buckets import LoggedBucket
from stacks.endpoint_stack import KMeansEndpointStack
from stacks.names import stage_stack_name
from stacks.pipeline_nag import acknowledge_pipeline_findings
from stacks.settings import RESOLVE_COMMAND, Settings
from stacks.verifier_access import (
    VerifiedEndpoints,
    acknowledge_verifier_wildcards,
    verified_stages,
    verifier_statements,
)

REPORT_DIR = "reports"
VERIFY_COMMAND = (
    'make verify ENDPOINT="$VERIFY_ENDPOINT_NAME" EXPECT_CONFIG="$VERIFY_ENDPOINT_CONFIG_NAME" '
    f"REFERENCE=build OUT={REPORT_DIR}/verification"
)
# A stage with a scoring bucket is also verified through it (asynchronous requests, a transform job), which
# needs the bucket's and the Model's names: the stack's outputs, read by the step itself.
VERIFY_SCORING_COMMAND = f"make verify STACK={{stack}} BATCH=1 REFERENCE=build OUT={REPORT_DIR}/verification"
BUILD_COMMAND = "make build"
SYNTH_COMMANDS = [
    "make setup",
    "make check",
    "make test",
    BUILD_COMMAND,
    "npx --no-install cdk synth --context pipeline=true",
]
# A registry deploy's stage verifies the package its ModelPackageArn output names, with that package's reference set.
VERIFY_PACKAGE_COMMAND = (
    'make verify ENDPOINT="$VERIFY_ENDPOINT_NAME" EXPECT_CONFIG="$VERIFY_ENDPOINT_CONFIG_NAME" '
    f'MODEL_PACKAGE="$VERIFY_MODEL_PACKAGE_ARN" OUT={REPORT_DIR}/verification'
)


def synth_commands(group: str | None) -> list[str]:
    """The synth step's commands. With a group the registry, not a build, says what is deployed: the step records the
    group's newest approved package in cdk.context.json where `make build` would build, and synth reads the record."""
    if group is None:
        return SYNTH_COMMANDS
    resolve = f".venv/bin/{RESOLVE_COMMAND.format(group=group)}"
    return [resolve if command == BUILD_COMMAND else command for command in SYNTH_COMMANDS]


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
        self.bucket = stored.bucket


class EndpointStage(cdk.Stage):
    """One deployment stage: the endpoint stack with that stage's settings and names."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.endpoint = KMeansEndpointStack(self, "Endpoint", settings=settings, stack_name=stage_stack_name(stage))


def stage_endpoint(endpoint: KMeansEndpointStack, settings: Settings) -> VerifiedEndpoints:
    """What the verify step of one stage may read: the outputs come from the deploy's variables, but for a
    stage with a scoring bucket, whose checks need more of them than the variables carry."""
    return verified_stages(
        {endpoint.stack_name: settings},
        endpoint_name=endpoint.endpoint_name,
        stack_name=endpoint.stack_name,
        reads_stack_outputs=settings.scoring_enabled,
        artifact_objects_arn=endpoint.artifact_object_arn,
    )


def verify_command(stack_name: str, settings: Settings) -> str:
    """The verify step's command: through the scoring bucket too where the stage has one."""
    return VERIFY_SCORING_COMMAND.format(stack=stack_name) if settings.scoring_enabled else VERIFY_COMMAND


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
        group = next(iter(stages.values())).model_package_group
        synth = pipelines.ShellStep("Synth", input=source, commands=synth_commands(group))
        self._build_output = None if group else synth.add_output_directory("build")
        artifacts = PipelineArtifacts(self, "Artifacts")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=synth,
            code_pipeline=codepipeline.Pipeline(
                self,
                "CodePipeline",
                artifact_bucket=artifacts.bucket,
                pipeline_type=codepipeline.PipelineType.V2,
                restart_execution_on_update=True,
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0)
            ),
            synth_code_build_defaults=pipelines.CodeBuildOptions(role_policy=resolve_statements(self, group)),
        )
        verify_steps = self._add_stages(stages, source)
        self.pipeline.build_pipeline()  # generate the roles and projects now, so the acks below can reach them
        if group is not None:
            ApprovalTrigger(self, "Approvals", group=group, pipeline=self.pipeline.pipeline)
        projects = [self.pipeline.synth_project, self.pipeline.self_mutation_project]
        acknowledge_pipeline_findings(
            self, artifact_bucket=artifacts.bucket, projects=[*projects, *(step.project for step in verify_steps)]
        )
        self._skip_library_lint()

    def _add_stages(
        self, stages: dict[str, Settings], source: pipelines.CodePipelineSource
    ) -> list[pipelines.CodeBuildStep]:
        """Each stage deploys (after a manual approval, but for the first), then verifies; returns the verify steps."""
        verify_steps = []
        for index, (name, settings) in enumerate(stages.items()):
            stage = EndpointStage(self, name.capitalize(), stage=name, settings=settings)
            approval = [pipelines.ManualApprovalStep(f"Approve{name.capitalize()}")] if index else []
            verify_steps.append(self._verify_step(name, stage.endpoint, settings, source))
            self.pipeline.add_stage(stage, pre=approval, post=[verify_steps[-1]])
        return verify_steps

    def _skip_library_lint(self) -> None:
        """Skips, with reasons, for two things CDK Pipelines generates that this stack cannot shape."""
        code_pipeline = self.pipeline.pipeline.node.default_child
        assert isinstance(code_pipeline, cdk.CfnResource)
        # W3005: CDK adds a DependsOn beside the GetAtt of the same role. E3703 (prefer Fn::Sub): CDK
        # Pipelines writes the deploy actions' bootstrap-role ARNs with Fn::Join.
        code_pipeline.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005", "E3703"]}})
        publishing = self.pipeline.node.try_find_child("Assets")  # none when every stage serves a registered package
        if publishing is None:
            return
        assets = publishing.node.find_child("FileRole").node.find_child("DefaultPolicy")
        skip_check(
            assets,
            "CKV_AWS_111",
            "CDK Pipelines' asset-publishing role starts and watches the CodeBuild builds it generates per asset; "
            "codebuild:StartBuild/BatchGetBuilds/StopBuild are granted on their generated projects by name only "
            "at run time.",
        )

    def _verify_step(
        self, name: str, endpoint: KMeansEndpointStack, settings: Settings, source: pipelines.CodePipelineSource
    ) -> pipelines.CodeBuildStep:
        statements = verifier_statements(endpoint, stage_endpoint(endpoint, settings))
        statements += package_reader_statements(self, settings.model_package)
        acknowledge_verifier_wildcards(self, statements)
        outputs = {
            "VERIFY_ENDPOINT_NAME": endpoint.outputs[Output.ENDPOINT_NAME],
            "VERIFY_ENDPOINT_CONFIG_NAME": endpoint.outputs[Output.ENDPOINT_CONFIG_NAME],
        }
        if settings.model_package is not None:
            outputs["VERIFY_MODEL_PACKAGE_ARN"] = endpoint.outputs[Output.MODEL_PACKAGE_ARN]
        command = VERIFY_PACKAGE_COMMAND if settings.model_package else verify_command(endpoint.stack_name, settings)
        return pipelines.CodeBuildStep(
            f"Verify{name.capitalize()}",
            input=source,
            additional_inputs={"build": self._build_output} if self._build_output else None,
            env_from_cfn_outputs=outputs,
            commands=["make setup-deploy", command],
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
            role_policy_statements=statements,
        )
