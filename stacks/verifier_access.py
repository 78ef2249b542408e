"""What `python -m verification` calls, granted in one place to every role that runs it.

The pipeline's verify step grants it on one stage's endpoint; the GitHub deploy role on every stage's. What a
stage needs follows from its settings: a real-time endpoint is invoked, an asynchronous one is sent its
request through the scoring bucket, and a stage with a scoring bucket is also verified through a transform
job (`--batch`). CreateTransformJob passes no role (the job runs as the Model's execution role), so AWS asks
no `iam:PassRole` of it (developer guide, "Amazon SageMaker API Permissions: Actions, Permissions, and
Resources Reference") and none is granted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from contract.verifier import INPUT_PREFIX, JOB_PREFIX, OUTPUT_PREFIX
from stacks.constructs.scoring import ASYNC_FAILURE_KEY, ASYNC_OUTPUT_KEY
from stacks.nag import acknowledge_wildcard_resource
from stacks.names import STACK_TAG_KEY, sagemaker_arn_name
from stacks.settings import Settings


@dataclass(frozen=True)
class VerifiedScoring:
    """The scoring buckets the verifier sends requests through, and the keys that encrypt them."""

    bucket_names: tuple[str, ...]  # a bucket brought by name, or the pattern CloudFormation's generated names match
    key_arns: tuple[str, ...]  # keys brought by ARN (kms_key_arn)
    keyed_stacks: tuple[str, ...]  # stacks whose own key encrypts their bucket: reached by the key's stack tag


@dataclass(frozen=True)
class VerifiedEndpoints:
    """Which endpoints a role may verify; `endpoint_name` and `stack_name` may end in `*`."""

    endpoint_name: str
    stack_name: str  # whose tagged Model and EndpointConfig may be described
    reads_stack_outputs: bool  # False where the outputs come another way (the pipeline's variables)
    artifact_objects_arn: str
    real_time: bool = True  # InvokeEndpoint
    asynchronous: bool = False  # InvokeEndpointAsync, through the scoring bucket
    scoring: VerifiedScoring | None = None  # the scoring bucket; with it, `--batch` (a transform job) too


def verified_stages(
    stages: Mapping[str, Settings],
    *,
    endpoint_name: str,
    stack_name: str,
    reads_stack_outputs: bool,
    artifact_objects_arn: str,
) -> VerifiedEndpoints:
    """What verifying these stacks (stack name -> its settings) asks, on the endpoints and stacks named."""
    scored = {name: settings for name, settings in stages.items() if settings.scoring_enabled}
    scoring = None
    if scored:
        scoring = VerifiedScoring(
            bucket_names=tuple(s.scoring_bucket_name or generated_bucket_pattern(n) for n, s in scored.items()),
            key_arns=tuple(sorted({s.kms_key_arn for s in scored.values() if s.kms_key_arn})),
            keyed_stacks=tuple(name for name, settings in scored.items() if not settings.kms_key_arn),
        )
    return VerifiedEndpoints(
        endpoint_name=endpoint_name,
        stack_name=stack_name,
        reads_stack_outputs=reads_stack_outputs,
        artifact_objects_arn=artifact_objects_arn,
        real_time=any(not settings.async_inference for settings in stages.values()),
        asynchronous=any(settings.async_inference for settings in stages.values()),
        scoring=scoring,
    )


def generated_bucket_pattern(stack_name: str) -> str:
    """The names CloudFormation gives a stack's unnamed buckets: `<stack>-<logical id>-<random>`, lower case."""
    return f"{stack_name.lower()}-*"


def verifier_statements(scope: IConstruct, endpoints: VerifiedEndpoints) -> list[iam.PolicyStatement]:
    """Describe and invoke the endpoint, describe its config and model, hash the artifact, read the stack;
    with a scoring bucket, write the requests, read the answers, and run the verifier's transform jobs."""
    arn = Stack.of(scope).format_arn
    endpoint = sagemaker_arn_name(endpoints.endpoint_name)
    invoke = ["sagemaker:InvokeEndpoint"] if endpoints.real_time else []
    invoke += ["sagemaker:InvokeEndpointAsync"] if endpoints.asynchronous else []
    statements = [
        iam.PolicyStatement(
            sid="DescribeAndInvokeEndpoint",
            actions=["sagemaker:DescribeEndpoint", *invoke],
            resources=[arn(service="sagemaker", resource="endpoint", resource_name=endpoint)],
        ),
        # CloudFormation names these after their logical id plus a random suffix: reached by the stack's tag.
        iam.PolicyStatement(
            sid="DescribeDeployedModel",
            actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            resources=[
                arn(service="sagemaker", resource="endpoint-config", resource_name="*"),
                arn(service="sagemaker", resource="model", resource_name="*"),
            ],
            conditions={"StringLike": {f"aws:ResourceTag/{STACK_TAG_KEY}": endpoints.stack_name}},
        ),
        iam.PolicyStatement(
            sid="HashDeployedArtifact", actions=["s3:GetObject"], resources=[endpoints.artifact_objects_arn]
        ),
    ]
    if endpoints.reads_stack_outputs:
        stack_arn = arn(service="cloudformation", resource="stack", resource_name=f"{endpoints.stack_name}/*")
        statements.append(
            iam.PolicyStatement(
                sid="ReadStackOutputs", actions=["cloudformation:DescribeStacks"], resources=[stack_arn]
            )
        )
    if endpoints.scoring is not None:
        statements += _scoring_statements(scope, endpoints.scoring, asynchronous=endpoints.asynchronous)
    return statements


def _scoring_statements(
    scope: IConstruct, scoring: VerifiedScoring, *, asynchronous: bool
) -> list[iam.PolicyStatement]:
    """The request objects, the answers, the verifier's transform jobs, and the keys S3 uses for them."""
    buckets = [f"arn:{Aws.PARTITION}:s3:::{name}" for name in scoring.bucket_names]
    answers = [f"{OUTPUT_PREFIX}/{JOB_PREFIX}-*"]
    answers += [f"{ASYNC_OUTPUT_KEY}/*", f"{ASYNC_FAILURE_KEY}/*"] if asynchronous else []
    statements = [
        iam.PolicyStatement(
            sid="WriteVerifierRequests",
            actions=["s3:PutObject"],
            resources=[f"{bucket}/{INPUT_PREFIX}/{JOB_PREFIX}-*" for bucket in buckets],
        ),
        iam.PolicyStatement(
            sid="ReadVerifierAnswers",
            actions=["s3:GetObject"],
            resources=[f"{bucket}/{key}" for bucket in buckets for key in answers],
        ),
        iam.PolicyStatement(
            sid="RunVerifierTransformJobs",
            actions=["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob"],
            resources=[
                Stack.of(scope).format_arn(
                    service="sagemaker", resource="transform-job", resource_name=f"{JOB_PREFIX}-*"
                )
            ],
        ),
    ]
    if asynchronous:
        # An answer not yet written reads as 404 only with s3:ListBucket; without it, 403 AccessDenied.
        statements.append(iam.PolicyStatement(sid="ListScoringBucket", actions=["s3:ListBucket"], resources=buckets))
    return statements + _key_statements(scope, scoring)


def _key_statements(scope: IConstruct, scoring: VerifiedScoring) -> list[iam.PolicyStatement]:
    """kms:GenerateDataKey to write and kms:Decrypt to read the bucket's SSE-KMS objects, through S3 only."""
    actions = ["kms:GenerateDataKey", "kms:Decrypt"]
    through_s3 = {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}
    statements = []
    if scoring.key_arns:
        statements.append(
            iam.PolicyStatement(
                sid="UseBroughtScoringKey", actions=actions, resources=list(scoring.key_arns),
                conditions={"StringEquals": through_s3},
            )
        )  # fmt: skip
    if scoring.keyed_stacks:
        statements.append(
            iam.PolicyStatement(
                sid="UseStackScoringKey",
                actions=actions,
                resources=[Stack.of(scope).format_arn(service="kms", resource="key", resource_name="*")],
                conditions={
                    "StringEquals": through_s3,
                    "StringLike": {f"aws:ResourceTag/{STACK_TAG_KEY}": list(scoring.keyed_stacks)},
                },
            )
        )
    return statements


WILDCARD_REASONS = {
    "DescribeAndInvokeEndpoint": "The verifier reads and invokes this project's endpoints, whose names start with "
    "the stage stacks' name.",
    "DescribeDeployedModel": "The verifier describes the endpoint's config and model; CloudFormation generates "
    "their names (logical id + random suffix), so the grant is conditioned on the stack's tag instead.",
    "HashDeployedArtifact": "The verifier hashes the deployed model.tar.gz, an object of the CDK assets bucket "
    "named by its hash.",
    "ReadStackOutputs": "The verifier reads the outputs of this project's stage stacks, whose ids CloudFormation "
    "generates.",
    "WriteVerifierRequests": "The verifier writes its reference rows under the scoring bucket's input/ prefix, "
    "each request named by its unique kmeans-verify-<time>-<random> id; CloudFormation generates the bucket's "
    "name (<stack>-<logical id>-<random>).",
    "ReadVerifierAnswers": "The verifier reads its transform job's output (output/kmeans-verify-*) and the "
    "asynchronous answers and failures SageMaker names by a generated id; CloudFormation generates the "
    "bucket's name.",
    "RunVerifierTransformJobs": "The verifier's transform jobs are named kmeans-verify-<time>-<random>.",
    "ListScoringBucket": "CloudFormation generates the scoring bucket's name (<stack>-<logical id>-<random>).",
    "UseStackScoringKey": "The stack's key has a generated id; the grant is conditioned on the key's stack tag "
    "and on its use through S3.",
}


def acknowledge_verifier_wildcards(construct: IConstruct, statements: list[iam.PolicyStatement]) -> None:
    """Acknowledge, on `construct`, the IAM5 finding of each wildcard resource `verifier_statements` grants."""
    for statement in statements:
        for resource in statement.resources:
            if "*" in resource:
                acknowledge_wildcard_resource(construct, resource, WILDCARD_REASONS[str(statement.sid)])
