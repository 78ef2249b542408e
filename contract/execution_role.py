"""What the stack's execution role grants SageMaker, one row per statement: the grant and its checks share it.

`stacks/constructs/role.py` grants each row as a statement with the row's sid and actions. The local AWS's
provisioning checks, as SageMaker does when it starts an endpoint's instances, that the role allows the
actions of a row SageMaker is known to call (`used`: pulling an image reads it, so the push-side
BatchCheckLayerAvailability is granted but never needed). The benchmarks and the tests build their roles
from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grant:
    """One statement of the execution role: its sid, the actions granted, and those SageMaker calls."""

    sid: str
    actions: tuple[str, ...]
    used: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.used:
            object.__setattr__(self, "used", self.actions)
        if not set(self.used) <= set(self.actions):
            raise ValueError(f"{self.sid}: used actions {sorted(set(self.used) - set(self.actions))} are not granted")


READ_MODEL_ARTIFACT = Grant("ReadModelArtifact", ("s3:GetObject",))
PULL_IMAGE = Grant(
    "PullKMeansImage",
    ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
    used=("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
)
GET_REGISTRY_TOKEN = Grant("GetRegistryToken", ("ecr:GetAuthorizationToken",))  # no resource-level permissions
WRITE_ENDPOINT_LOGS = Grant(
    "WriteEndpointLogs",
    ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
    used=("logs:CreateLogStream", "logs:PutLogEvents"),
)
# What S3 asks KMS for on the caller's behalf: reading an SSE-KMS object decrypts its data key, writing one
# generates a data key (S3 user guide, "Using server-side encryption with AWS KMS keys").
DECRYPT_OBJECTS, ENCRYPT_OBJECTS = "kms:Decrypt", "kms:GenerateDataKey"
USE_ENCRYPTION_KEY = Grant("UseEncryptionKey", (DECRYPT_OBJECTS, "kms:Encrypt", ENCRYPT_OBJECTS, "kms:DescribeKey"))
READ_ROLLBACK_ALARMS = Grant("ReadRollbackAlarms", ("cloudwatch:DescribeAlarms",))
PUBLISH_ENDPOINT_METRICS = Grant("PublishEndpointMetrics", ("cloudwatch:PutMetricData",))
WRITE_CAPTURED_DATA = Grant("WriteCapturedData", ("s3:PutObject",))
LIST_SCORING_INPUT = Grant("ListScoringInput", ("s3:ListBucket",))
READ_SCORING_INPUT = Grant("ReadScoringInput", ("s3:GetObject",))
WRITE_SCORING_RESULTS = Grant("WriteScoringResults", ("s3:PutObject",))
NOTIFY_ASYNC_RESULTS = Grant("NotifyAsyncResults", ("sns:Publish",))
DESCRIBE_VPC = Grant(
    "DescribeVpc",
    (
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    ),
)
CREATE_INTERFACE_IN_SUBNETS = Grant("CreateInterfaceInSubnets", ("ec2:CreateNetworkInterface",))
MANAGE_INTERFACES_IN_SUBNETS = Grant(
    "ManageInterfacesInSubnets",
    ("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"),
)

HOSTING = (READ_MODEL_ARTIFACT, GET_REGISTRY_TOKEN, PULL_IMAGE, WRITE_ENDPOINT_LOGS)
"""What any role needs for SageMaker to host the model: the artifact, the image and the endpoint's logs."""
GRANTS = (
    READ_MODEL_ARTIFACT,
    PULL_IMAGE,
    GET_REGISTRY_TOKEN,
    WRITE_ENDPOINT_LOGS,
    USE_ENCRYPTION_KEY,
    READ_ROLLBACK_ALARMS,
    PUBLISH_ENDPOINT_METRICS,
    WRITE_CAPTURED_DATA,
    LIST_SCORING_INPUT,
    READ_SCORING_INPUT,
    WRITE_SCORING_RESULTS,
    NOTIFY_ASYNC_RESULTS,
    DESCRIBE_VPC,
    CREATE_INTERFACE_IN_SUBNETS,
    MANAGE_INTERFACES_IN_SUBNETS,
)
"""Every row: each is one statement of the role in some configuration of the stack."""
