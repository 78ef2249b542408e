"""The execution role SageMaker assumes: only what hosting this model needs."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
KMS_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
VPC_DESCRIBE_ACTIONS = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]
VPC_INTERFACE_ACTIONS = [
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
]
SAGEMAKER_METRIC_NAMESPACE = "/aws/sagemaker/Endpoints"


class ExecutionRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifact_object_arn: str,
        image_repository_arn: str,
        log_group_arn: str,
        key: kms.IKey,
        capture_objects_arn: str | None,
        subnet_ids: tuple[str, ...],
        security_group_ids: tuple[str, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        statements = [
            _allow("ReadModelArtifact", ["s3:GetObject"], [artifact_object_arn]),
            _allow("PullKMeansImage", ECR_PULL_ACTIONS, [image_repository_arn]),
            # GetAuthorizationToken has no resource-level permissions.
            _allow("GetRegistryToken", ["ecr:GetAuthorizationToken"], ["*"]),
            _allow("WriteEndpointLogs", LOG_ACTIONS, [log_group_arn, f"{log_group_arn}:log-stream:*"]),
            _allow("UseEncryptionKey", KMS_ACTIONS, [key.key_arn]),
            iam.PolicyStatement(
                sid="PublishEndpointMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": f"{SAGEMAKER_METRIC_NAMESPACE}*"}},
            ),
        ]
        if capture_objects_arn is not None:
            statements.append(_allow("WriteCapturedData", ["s3:PutObject"], [capture_objects_arn]))
        if subnet_ids:
            statements.extend(_vpc_statements(self, subnet_ids, security_group_ids))
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description="kmeans-byom hosting"
        )
        # A managed policy is its own resource, so the Model can depend on it being attached.
        self.policy = iam.ManagedPolicy(self, "Policy", statements=statements, roles=[self.role])


def _ec2_arn(scope: Construct, resource: str, name: str) -> str:
    return Stack.of(scope).format_arn(service="ec2", resource=resource, resource_name=name)


def _vpc_statements(
    scope: Construct, subnet_ids: tuple[str, ...], security_group_ids: tuple[str, ...]
) -> list[iam.PolicyStatement]:
    """Network interfaces only in the endpoint's own subnets and security groups."""
    subnets = [_ec2_arn(scope, "subnet", subnet) for subnet in subnet_ids]
    groups = [_ec2_arn(scope, "security-group", group) for group in security_group_ids]
    interfaces = _ec2_arn(scope, "network-interface", "*")
    return [
        # The Describe actions have no resource-level permissions.
        _allow("DescribeVpc", VPC_DESCRIBE_ACTIONS, ["*"]),
        _allow("CreateInterfaceInSubnets", ["ec2:CreateNetworkInterface"], [*subnets, *groups, interfaces]),
        iam.PolicyStatement(
            sid="ManageInterfacesInSubnets",
            actions=VPC_INTERFACE_ACTIONS,
            resources=[interfaces],
            conditions={"ArnEquals": {"ec2:Subnet": subnets}},
        ),
    ]


def _allow(sid: str, actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=resources)
