"""The execution role SageMaker assumes: only what hosting this model needs."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
KMS_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
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
        in_vpc: bool,
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
        if in_vpc:
            statements.append(_allow("AttachToVpc", VPC_ACTIONS, ["*"]))
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description="kmeans-byom hosting"
        )
        # A managed policy is its own resource, so the Model can depend on it being attached.
        self.policy = iam.ManagedPolicy(self, "Policy", statements=statements, roles=[self.role])


def _allow(sid: str, actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=resources)
