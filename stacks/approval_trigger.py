"""Approval drives the pipeline: the rule that starts it on an approval or rejection in the group, and what its
synth and verify steps may read of the registry."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.model_package import GROUP_ARN_PATTERN, RecordedPackage, approval_event_pattern, group_name, split_s3_url
from registry.storage import KEY_PREFIX
from stacks.nag import acknowledge_wildcard_resource


class ApprovalTrigger(Construct):
    """An EventBridge rule on the group's Approved and Rejected state changes (never pending) starting the pipeline."""

    def __init__(self, scope: Construct, construct_id: str, *, group: str, pipeline: codepipeline.IPipeline) -> None:
        super().__init__(scope, construct_id)
        pattern = approval_event_pattern(group)
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Deploy the newest approved package of {group_name(group)} on an approval or rejection",
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
            ),
            targets=[targets.CodePipeline(pipeline)],
        )


def _group_arn(scope: Construct, group: str) -> str:
    if GROUP_ARN_PATTERN.match(group):
        return group  # a shared registry in another account
    return Stack.of(scope).format_arn(service="sagemaker", resource="model-package-group", resource_name=group.lower())


def resolve_statements(scope: Construct, group: str | None) -> list[iam.PolicyStatement]:
    """What `python -m approval resolve` calls: find the group's newest approved package and read it."""
    if group is None:
        return []
    group_arn = _group_arn(scope, group)
    packages = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    statements = [
        iam.PolicyStatement(
            sid="ReadModelPackageGroup", actions=["sagemaker:DescribeModelPackageGroup"], resources=[group_arn]
        ),
        iam.PolicyStatement(sid="ReadModelPackages", actions=["sagemaker:DescribeModelPackage"], resources=[packages]),
        # ListModelPackages has no resource-level permissions (the worse case where AWS's reference is unclear).
        iam.PolicyStatement(sid="ListModelPackages", actions=["sagemaker:ListModelPackages"], resources=["*"]),
    ]
    acknowledge_wildcard_resource(
        scope, packages, "The resolve step reads whichever package of this one group is the newest approved."
    )
    acknowledge_wildcard_resource(
        scope, "*", "sagemaker:ListModelPackages has no resource-level permissions; it lists names only."
    )
    return statements


def package_reader_statements(scope: Construct, package: RecordedPackage | None) -> list[iam.PolicyStatement]:
    """What verifying a registry deploy reads: the package it serves and its reference set, by exact name."""
    if package is None:
        return []
    bucket, key = split_s3_url(package.reference_url)
    reference = Stack.of(scope).format_arn(service="s3", region="", account="", resource=bucket, resource_name=key)
    return [
        iam.PolicyStatement(
            sid="ReadServedModelPackage", actions=["sagemaker:DescribeModelPackage"], resources=[package.arn]
        ),
        iam.PolicyStatement(sid="ReadReferenceSet", actions=["s3:GetObject"], resources=[reference]),
    ]


def registry_reader_statements(scope: Construct, package: RecordedPackage | None) -> list[iam.PolicyStatement]:
    """What a role that deploys any package of the group asks (GitHub's manual trigger): resolve it, and read the
    registered files (artifact, reference set) under the registry's content-addressed prefix of its bucket."""
    if package is None:
        return []
    bucket, _ = split_s3_url(package.reference_url)
    files = Stack.of(scope).format_arn(
        service="s3", region="", account="", resource=bucket, resource_name=f"{KEY_PREFIX}/*"
    )
    acknowledge_wildcard_resource(
        scope, files, "Registered files are named by their sha256, unknown until a package is approved; the grant "
        "is read-only, on the registry's prefix of one bucket.",
    )  # fmt: skip
    statement = iam.PolicyStatement(sid="ReadRegisteredFiles", actions=["s3:GetObject"], resources=[files])
    return [*resolve_statements(scope, package.group), statement]
