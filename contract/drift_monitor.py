"""What the scheduled drift monitor is granted and how its processing job is laid out, one home for both sides.

`stacks/constructs/drift.py` grants each row to the processing job's role or the scheduler's role, and declares
the job's container paths; the local AWS runs the same job (local_aws/processing) and checks the same rows.
Container paths are those the CreateProcessingJob API documents: every ProcessingInput's and ProcessingOutput's
`LocalPath` lies under `/opt/ml/processing/` (API ProcessingS3Input.LocalPath, ProcessingS3Output.LocalPath).
"""

from __future__ import annotations

from typing import Final

from contract.execution_role import Grant
from monitoring import metrics
from monitoring.settings import Thresholds

PROCESSING_ROOT: Final = "/opt/ml/processing"
CODE_PATH: Final = f"{PROCESSING_ROOT}/input/code"
BASELINE_PATH: Final = f"{PROCESSING_ROOT}/input/baseline"
CAPTURE_PATH: Final = f"{PROCESSING_ROOT}/capture"  # the job copies its window's capture here (not an input)
REPORT_PATH: Final = f"{PROCESSING_ROOT}/output/report"

JOB_NAME_PREFIX: Final = "kmeans-drift-"  # + the scheduler's execution id: one name per attempted run
# Each run's window ends this long before its scheduled time. SageMaker's data capture buffers records and writes
# them to S3 in batches (developer guide "Capture data": capture is asynchronous; no delivery delay is
# documented); 15 minutes is our margin, and records written later still count in the next window only if their
# inference time is in it, so a record delivered more than the lag late is read by no run (README).
CAPTURE_LAG_SECONDS: Final = 900
REPORT_PREFIX: Final = "drift-reports"  # <capture bucket>/drift-reports/<endpoint>/<scheduled time>/

# The processing job's role: read the code, baseline and capture, write the report, publish the figures.
READ_MONITOR_INPUTS = Grant("ReadMonitorInputs", ("s3:GetObject",))
LIST_CAPTURE = Grant("ListCapture", ("s3:ListBucket",))
# SageMaker lists an S3Prefix input before it downloads it: the code's and the baseline's keys, exactly.
LIST_MONITOR_INPUTS = Grant("ListMonitorInputs", ("s3:ListBucket",))
WRITE_DRIFT_REPORTS = Grant("WriteDriftReports", ("s3:PutObject",))
PUBLISH_DRIFT_METRICS = Grant("PublishDriftMetrics", ("cloudwatch:PutMetricData",))
# Developer guide "How to use SageMaker AI execution roles", "CreateProcessingJob API: Execution Role Permissions":
# logs:DescribeLogStreams and kms:Encrypt are in its policy but SageMaker is not known to call them (granted, not
# used, as contract.execution_role's rows do); a volume KMS key needs kms:CreateGrant ("If you specify a volume KMS
# key ... add kms:CreateGrant"): SageMaker creates a grant for the instance's volume.
WRITE_PROCESSING_LOGS = Grant("WriteProcessingLogs", ("logs:CreateLogStream", "logs:PutLogEvents"))
# Group actions: granted on `log-group:NAME:*` (the bare group ARN covers only tagging), apart from the streams.
CREATE_PROCESSING_LOG_GROUP = Grant(
    "CreateProcessingLogGroup", ("logs:CreateLogGroup", "logs:DescribeLogStreams"), used=("logs:CreateLogGroup",)
)
USE_MONITOR_KEY = Grant(
    "UseMonitorKey", ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"), used=("kms:Decrypt", "kms:GenerateDataKey")
)
GRANT_VOLUME_KEY = Grant("GrantMonitorVolumeKey", ("kms:CreateGrant",))
# AWS says the ECR permissions are "required only if you use your own container" (CreateProcessingJob API:
# Execution Role Permissions); the prebuilt image may not need them. Kept as the stated worse case: a role without
# them would fail if SageMaker did pull as the role, and they are scoped to the one repository (the local AWS checks
# them, as it does for the endpoint's and the training job's images).
PULL_SKLEARN_IMAGE = Grant(
    "PullScikitLearnImage",
    ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
    used=("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
)
GET_REGISTRY_TOKEN = Grant("GetRegistryToken", ("ecr:GetAuthorizationToken",))  # no resource-level permissions

# The scheduler's role: start the job, and pass it exactly the processing role.
START_MONITOR_JOB = Grant("StartMonitorJob", ("sagemaker:CreateProcessingJob",))
PASS_PROCESSING_ROLE = Grant("PassProcessingRole", ("iam:PassRole",))

# The figures each run publishes and the thresholds the alarms use are the monitor's own (monitoring.metrics,
# monitoring.settings: both free of imports the CDK app would pay for): the alarms fire where the report says drift.
METRIC_NAMESPACE: Final = metrics.NAMESPACE
ENDPOINT_DIMENSION: Final = metrics.ENDPOINT_DIMENSION
VARIANT_DIMENSION: Final = metrics.VARIANT_DIMENSION
ROWS_METRIC: Final = metrics.ROWS  # the heartbeat: every run that analysed its window publishes it, 0 rows too
HEARTBEAT_EVALUATION_PERIODS: Final = 2  # two intervals in a row without a run (a missing run is breaching)
PSI_METRIC: Final = metrics.SHARE_PSI
OUTLIER_SHARE_METRIC: Final = metrics.OUTLIER_SHARE
PSI_ALARM_THRESHOLD: Final = Thresholds().psi_drift
OUTLIER_SHARE_ALARM_THRESHOLD: Final = Thresholds().max_outlier_share
