"""Training on SageMaker: where the stack's training bucket keeps data and models, and what its role grants.

`stacks/constructs/training.py` lays the bucket out and grants each row; `python -m model_build --engine
sagemaker` writes under the data prefix and names its jobs with JOB_PREFIX. The grants follow the developer
guide's "CreateTrainingJob API: Execution Role Permissions", scoped to this stack's bucket, key, image and
the training log group.
"""

from __future__ import annotations

from typing import Final

from contract.execution_role import DECRYPT_OBJECTS, ENCRYPT_OBJECTS, Grant
from contract.stack import Output

DATA_PREFIX: Final = "data"  # s3://<training bucket>/data/<job>/: the input the CLI uploads, or yours
MODEL_PREFIX: Final = "models"  # s3://<training bucket>/models/<job>/output/model.tar.gz: what the job writes
JOB_PREFIX: Final = "kmeans-train"

LIST_TRAINING_DATA = Grant("ListTrainingData", ("s3:ListBucket",))
READ_TRAINING_DATA = Grant("ReadTrainingData", ("s3:GetObject",))
WRITE_TRAINED_MODELS = Grant("WriteTrainedModels", ("s3:PutObject",))
PULL_TRAINING_IMAGE = Grant(
    "PullKMeansImage",
    ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
    used=("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
)
GET_TRAINING_REGISTRY_TOKEN = Grant("GetRegistryToken", ("ecr:GetAuthorizationToken",))
WRITE_TRAINING_LOGS = Grant(
    "WriteTrainingLogs",
    ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
    used=("logs:CreateLogStream", "logs:PutLogEvents"),
)
PUBLISH_TRAINING_METRICS = Grant("PublishTrainingMetrics", ("cloudwatch:PutMetricData",))
# Input objects are SSE-KMS (decrypt), the model is written under OutputDataConfig.KmsKeyId (a data key), and
# the volume key is used through a grant SageMaker creates for the instance (ResourceConfig.VolumeKmsKeyId).
USE_TRAINING_KEY = Grant("UseTrainingKey", (DECRYPT_OBJECTS, "kms:Encrypt", ENCRYPT_OBJECTS, "kms:DescribeKey"))
GRANT_VOLUME_KEY = Grant("GrantVolumeKey", ("kms:CreateGrant",))

TRAINING_GRANTS: Final = (
    LIST_TRAINING_DATA,
    READ_TRAINING_DATA,
    WRITE_TRAINED_MODELS,
    PULL_TRAINING_IMAGE,
    GET_TRAINING_REGISTRY_TOKEN,
    WRITE_TRAINING_LOGS,
    PUBLISH_TRAINING_METRICS,
    USE_TRAINING_KEY,
    GRANT_VOLUME_KEY,
)
"""Every statement of the training role, in the order the construct grants them."""


def caller_statements(outputs: dict[str, str], *, stack_arn: str) -> list[dict[str, object]]:
    """What `python -m model_build --engine sagemaker` calls, as IAM statements, from the stack's outputs.

    The README's "What the caller needs"; tests run the CLI under a role holding exactly these.
    `iam:PassRole` is of the training role alone, and only to SageMaker.
    """
    role_arn, key_arn = outputs[Output.TRAINING_ROLE_ARN], outputs[Output.TRAINING_KEY_ARN]
    bucket = outputs[Output.TRAINING_DATA_URI].removeprefix("s3://").split("/")[0]
    partition, _, _, region, account = _arn_parts(key_arn)
    jobs = f"arn:{partition}:sagemaker:{region}:{account}:training-job/{JOB_PREFIX}-*"
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    return [
        _statement("ReadTrainingStack", ["cloudformation:DescribeStacks"], [stack_arn]),
        _statement(
            "RunTrainingJobs",
            ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            [jobs],
        ),
        _statement(
            "PassTrainingRole",
            ["iam:PassRole"],
            [role_arn],
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        _statement("ListTrainingBucket", ["s3:ListBucket"], [bucket_arn]),
        # Put the input, read it back for the shards it lists, delete it when CreateTrainingJob is refused.
        _statement(
            "UploadTrainingData", ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], [f"{bucket_arn}/{DATA_PREFIX}/*"]
        ),
        _statement("ReadTrainedModels", ["s3:GetObject"], [f"{bucket_arn}/{MODEL_PREFIX}/*"]),
        _statement("UseTrainingKey", ["kms:GenerateDataKey", "kms:Decrypt"], [key_arn]),
    ]


def _arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """(partition, service, "", region, account) of an ARN such as the key's."""
    _, partition, service, region, account = arn.split(":")[:5]
    return partition, service, "", region, account


def _statement(
    sid: str, actions: list[str], resources: list[str], conditions: dict[str, object] | None = None
) -> dict[str, object]:
    statement: dict[str, object] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if conditions:
        statement["Condition"] = conditions
    return statement
