"""Training on SageMaker: where the stack's training bucket keeps data and models, and what its role grants.

`stacks/constructs/training.py` lays the bucket out and grants each row; `python -m model_build --engine
sagemaker` writes under the data prefix and names its jobs with JOB_PREFIX. The grants follow the developer
guide's "CreateTrainingJob API: Execution Role Permissions", scoped to this stack's bucket, key, image and
the training log group.
"""

from __future__ import annotations

from typing import Final

from contract.execution_role import DECRYPT_OBJECTS, ENCRYPT_OBJECTS, Grant

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
