"""The execution role SageMaker assumes: only what hosting this model needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import execution_role as grants
from stacks.nag import acknowledge_wildcard_resource
from stacks.settings import Network

if TYPE_CHECKING:
    from stacks.constructs.scoring import ScoringAccess

SAGEMAKER_METRIC_NAMESPACE = "/aws/sagemaker/Endpoints"


class ExecutionRole(Construct):
    """The role and its managed policy; `policy` is what the Model must wait for."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifact_object_arns: list[str],
        image_repository_arn: str,
        log_group_arn: str,
        key_arn: str,
        rollback_alarm_arns: list[str],
        capture_objects_arn: str | None,
        network: Network,
        scoring: ScoringAccess | None = None,
        notify_topic_arns: list[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # `:*`: DescribeLogStreams is a group action, and only `log-group:NAME:*` covers it (the bare group ARN
        # applies to tagging alone; CloudWatch Logs, "CloudWatch Logs resources and operations"); it covers the streams.
        log_streams_arn = f"{log_group_arn}:*"
        statements = [
            _allow(grants.READ_MODEL_ARTIFACT, artifact_object_arns),
            _allow(grants.PULL_IMAGE, [image_repository_arn]),
            # GetAuthorizationToken has no resource-level permissions.
            _allow(grants.GET_REGISTRY_TOKEN, ["*"]),
            _allow(grants.WRITE_ENDPOINT_LOGS, [log_streams_arn]),
            _allow(grants.USE_ENCRYPTION_KEY, [key_arn]),
            # Blue/green auto-rollback reads its alarms as this role; without it the first update fails.
            _allow(grants.READ_ROLLBACK_ALARMS, rollback_alarm_arns),
            _allow(
                grants.PUBLISH_ENDPOINT_METRICS,
                ["*"],
                conditions={"StringLike": {"cloudwatch:namespace": f"{SAGEMAKER_METRIC_NAMESPACE}*"}},
            ),
        ]
        if capture_objects_arn is not None:
            statements.append(_allow(grants.WRITE_CAPTURED_DATA, [capture_objects_arn]))
        if scoring is not None:
            statements.extend(_scoring_statements(scoring))
        if notify_topic_arns:
            statements.append(_allow(grants.NOTIFY_ASYNC_RESULTS, notify_topic_arns))
        if network.in_vpc:
            statements.extend(_vpc_statements(self, network))
        role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description="kmeans-byom hosting"
        )
        # A managed policy is its own resource, so the Model can depend on it being attached.
        self.policy = iam.ManagedPolicy(self, "Policy", statements=statements, roles=[role])
        self.role_arn = role.role_arn
        self._acknowledge(log_streams_arn, capture_objects_arn, network)
        if scoring is not None:
            for objects_arn in (scoring.input_objects_arn, *scoring.written_objects_arns):
                acknowledge_wildcard_resource(
                    self.policy,
                    objects_arn,
                    "Batch transform and asynchronous inference read and write objects whose names the job and "
                    "the caller choose; the grant is one prefix of this stack's scoring bucket.",
                )

    def _acknowledge(self, log_streams_arn: str, capture_objects_arn: str | None, network: Network) -> None:
        acknowledge_wildcard_resource(
            self.policy,
            "*",
            "Only for actions without resource-level permissions: ecr:GetAuthorizationToken, "
            "cloudwatch:PutMetricData (conditioned on the SageMaker endpoint namespace) and, in a VPC, "
            "the EC2 network-interface actions SageMaker needs to attach the endpoint.",
        )
        acknowledge_wildcard_resource(
            self.policy,
            log_streams_arn,
            "SageMaker names one log stream per instance at run time; the grant is this endpoint's own log group "
            "and its streams (log-group:NAME:*, the form CloudWatch Logs authorizes group and stream actions on).",
        )
        if capture_objects_arn is not None:
            acknowledge_wildcard_resource(
                self.policy,
                capture_objects_arn,
                "SageMaker writes captured requests under date-based keys it chooses; the grant is s3:PutObject "
                "under the capture prefix of this stack's own bucket.",
            )
        if network.in_vpc:
            acknowledge_wildcard_resource(
                self.policy,
                _ec2_arn(self, "network-interface", "*"),
                "SageMaker creates the endpoint's network interfaces at run time, so their ids are unknown here; "
                "creation is limited to the configured subnets and security groups, and the other actions by an "
                "ec2:Subnet condition to those subnets.",
            )


def _scoring_statements(scoring: ScoringAccess) -> list[iam.PolicyStatement]:
    """Transforms list and read `input/`, and write `output/` and `failures/`: those prefixes only."""
    return [
        _allow(
            grants.LIST_SCORING_INPUT,
            [scoring.bucket_arn],
            conditions={"StringLike": {"s3:prefix": ["input/*", "input"]}},
        ),
        _allow(grants.READ_SCORING_INPUT, [scoring.input_objects_arn]),
        _allow(grants.WRITE_SCORING_RESULTS, list(scoring.written_objects_arns)),
    ]


def _ec2_arn(scope: Construct, resource: str, name: str) -> str:
    return Stack.of(scope).format_arn(service="ec2", resource=resource, resource_name=name)


def _vpc_statements(scope: Construct, network: Network) -> list[iam.PolicyStatement]:
    """Network interfaces only in the endpoint's own subnets and security groups."""
    subnets = [_ec2_arn(scope, "subnet", subnet) for subnet in network.subnet_ids]
    groups = [_ec2_arn(scope, "security-group", group) for group in network.security_group_ids]
    interfaces = _ec2_arn(scope, "network-interface", "*")
    return [
        # The Describe actions have no resource-level permissions.
        _allow(grants.DESCRIBE_VPC, ["*"]),
        _allow(grants.CREATE_INTERFACE_IN_SUBNETS, [*subnets, *groups, interfaces]),
        _allow(grants.MANAGE_INTERFACES_IN_SUBNETS, [interfaces], conditions={"ArnEquals": {"ec2:Subnet": subnets}}),
    ]


def _allow(grant: grants.Grant, resources: list[str], conditions: dict[str, Any] | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=grant.sid, actions=list(grant.actions), resources=resources, conditions=conditions)
