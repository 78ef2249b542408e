"""Processing jobs on the local AWS: inputs in, the container's command run, outputs out, the role's rights checked."""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from aws_facts.processing_image import sklearn_image_uri
from contract.execution_role import GET_REGISTRY_TOKEN, PULL_IMAGE
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, StrictAccount, allow, unique

# Where a LocalPath outside /opt/ml/processing/ would land on this machine if it were let through: a fresh name per
# run, so a leftover of another run cannot fail this one.
ESCAPE = Path(tempfile.gettempdir()) / f"kmeans-byom-escape-{uuid.uuid4().hex}"

IMAGE = sklearn_image_uri("us-east-1")
SCRIPT = b"""
import pathlib, sys, time
source, target, mode = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
rows = sum(len(p.read_text().splitlines()) for p in sorted(source.rglob("*.csv")))
print(f"read {rows} rows", flush=True)
pathlib.Path("/opt/ml/output/message".replace("/opt/ml/", sys.argv[4])).write_text(f"{mode}: {rows} rows")
if mode == "sleep":
    time.sleep(60)
if mode == "fail":
    sys.exit(3)
(target / "nested").mkdir(parents=True, exist_ok=True)
(target / "nested" / "count.txt").write_text(str(rows))
"""


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    found = StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "processing")
    s3 = found.client("s3")
    s3.put_object(Bucket=found.bucket, Key="code/job.py", Body=SCRIPT)
    s3.put_object(Bucket=found.bucket, Key="data/day-1/a.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=found.bucket, Key="data/day-2/b.csv", Body=b"5,6\n")
    return found


def job_statements(bucket: str, readable: str = "*") -> list[dict[str, Any]]:
    """What a processing role needs: read the inputs, write the outputs and its logs, pull the image."""
    return [
        allow(["s3:GetObject"], [f"arn:aws:s3:::{bucket}/{readable}"]),
        allow(["s3:ListBucket"], [f"arn:aws:s3:::{bucket}"]),
        allow(["s3:PutObject"], [f"arn:aws:s3:::{bucket}/results/*"]),
        allow(list(GET_REGISTRY_TOKEN.used), ["*"]),
        allow(list(PULL_IMAGE.used), ["arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn"]),
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs*"],
        ),
    ]


def request(account: StrictAccount, role: str, mode: str = "count", image: str | None = IMAGE) -> dict[str, Any]:
    def s3_input(name: str, prefix: str) -> dict[str, Any]:
        local = f"/opt/ml/processing/input/{name}"
        return {"InputName": name, "S3Input": {"S3Uri": f"s3://{account.bucket}/{prefix}", "LocalPath": local,
                                               "S3DataType": "S3Prefix", "S3InputMode": "File"}}  # fmt: skip

    name = unique("proc")
    return {
        "ProcessingJobName": name,
        "RoleArn": role,
        "AppSpecification": {
            "ImageUri": image,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
            "ContainerArguments": [
                "/opt/ml/processing/input/data",
                "/opt/ml/processing/output/result",
                mode,
                "/opt/ml/",
            ],
        },
        "ProcessingInputs": [s3_input("code", "code/"), s3_input("data", "data/")],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": f"s3://{account.bucket}/results/{name}",
                        "LocalPath": "/opt/ml/processing/output/result",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 5}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def run(account: StrictAccount, job: dict[str, Any]) -> dict[str, Any]:
    sagemaker = account.client("sagemaker")
    sagemaker.create_processing_job(**job)
    with contextlib.suppress(WaiterError):  # a Failed job: described below
        sagemaker.get_waiter("processing_job_completed_or_stopped").wait(
            ProcessingJobName=job["ProcessingJobName"], WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
    described: dict[str, Any] = sagemaker.describe_processing_job(ProcessingJobName=job["ProcessingJobName"])
    return described


def test_a_job_reads_its_inputs_runs_its_command_and_uploads_its_outputs(account: StrictAccount) -> None:
    job = request(account, account.role(job_statements(account.bucket)))
    described = run(account, job)
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    name = job["ProcessingJobName"]
    body = account.client("s3").get_object(Bucket=account.bucket, Key=f"results/{name}/nested/count.txt")["Body"]
    assert body.read() == b"3"  # both day folders' rows, kept below their prefix
    assert described["ExitMessage"] == "count: 3 rows"
    assert described["ProcessingEndTime"] >= described["ProcessingStartTime"]
    assert described["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    streams = account.client("logs").describe_log_streams(
        logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{name}/algo-1-"
    )["logStreams"]
    assert len(streams) == 1
    events = account.client("logs").get_log_events(
        logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert "read 3 rows" in [event["message"] for event in events]


def test_a_non_zero_exit_fails_the_job_with_its_message_and_uploads_nothing(account: StrictAccount) -> None:
    job = request(account, account.role(job_statements(account.bucket)), mode="fail")
    described = run(account, job)
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"] == "AlgorithmError: See job logs for more information"
    assert described["ExitMessage"] == "fail: 3 rows"
    listed = account.client("s3").list_objects_v2(Bucket=account.bucket, Prefix=f"results/{job['ProcessingJobName']}")
    assert listed.get("KeyCount") == 0


def test_a_role_that_may_not_read_an_input_fails_the_job(account: StrictAccount) -> None:
    job = request(account, account.role(job_statements(account.bucket, readable="code/*")))
    described = run(account, job)
    assert described["ProcessingJobStatus"] == "Failed"
    assert "s3:GetObject" in described["FailureReason"]
    assert "data/day-1/a.csv" in described["FailureReason"]


def test_a_role_that_may_not_pull_the_image_fails_the_job(account: StrictAccount) -> None:
    statements = [s for s in job_statements(account.bucket) if "ecr:BatchGetImage" not in s["Action"]]
    described = run(account, request(account, account.role(statements)))
    assert described["ProcessingJobStatus"] == "Failed"
    assert "ecr:BatchGetImage" in described["FailureReason"]


def test_an_image_other_than_the_regions_scikit_learn_image_is_refused(account: StrictAccount) -> None:
    job = request(
        account,
        account.role(job_statements(account.bucket)),
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1",
    )
    with pytest.raises(ClientError) as raised:
        account.client("sagemaker").create_processing_job(**job)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in raised.value.response["Error"]["Message"]


def test_a_job_name_is_used_once(account: StrictAccount) -> None:
    job = request(account, account.role(job_statements(account.bucket)))
    run(account, job)
    with pytest.raises(ClientError) as raised:
        account.client("sagemaker").create_processing_job(**job)
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"


def test_a_stopped_job_ends_stopped(account: StrictAccount) -> None:
    job = request(account, account.role(job_statements(account.bucket)), mode="sleep")
    sagemaker = account.client("sagemaker")
    sagemaker.create_processing_job(**job)
    name = job["ProcessingJobName"]
    for _ in range(100):  # until the command runs (its message is written before it sleeps)
        if sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "InProgress":
            break
    sagemaker.stop_processing_job(ProcessingJobName=name)
    sagemaker.get_waiter("processing_job_completed_or_stopped").wait(
        ProcessingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    assert sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "Stopped"


def test_a_caller_must_be_allowed_to_pass_the_jobs_role(account: StrictAccount) -> None:
    role = account.role(job_statements(account.bucket))
    starter = account.role([allow(["sagemaker:CreateProcessingJob"], ["*"])])
    with pytest.raises(ClientError) as raised:
        account.client_as("sagemaker", starter).create_processing_job(**request(account, role))
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "iam:PassRole" in raised.value.response["Error"]["Message"]
    passer = account.role(
        [
            allow(["sagemaker:CreateProcessingJob"], ["*"]),
            allow(["iam:PassRole"], [role], {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
        ]
    )
    account.client_as("sagemaker", passer).create_processing_job(**request(account, role))


def test_a_volume_key_needs_a_grant_from_the_role(account: StrictAccount) -> None:
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    job = request(account, account.role(job_statements(account.bucket)))
    job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = key
    described = run(account, job)
    assert described["ProcessingJobStatus"] == "Failed"
    assert "kms:CreateGrant" in described["FailureReason"]
    granted = request(account, account.role([*job_statements(account.bucket), allow(["kms:CreateGrant"], [key])]))
    granted["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = key
    assert run(account, granted)["ProcessingJobStatus"] == "Completed"


@pytest.mark.parametrize(
    "change",
    [
        lambda job: job["ProcessingInputs"][1]["S3Input"].update(LocalPath=str(ESCAPE)),
        lambda job: job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"].update(LocalPath="/opt/ml/model"),
        lambda job: job["ProcessingInputs"][1].update(InputName="code"),
        lambda job: job["ProcessingOutputConfig"]["Outputs"].append(job["ProcessingOutputConfig"]["Outputs"][0]),
    ],
    ids=["input-outside", "output-outside", "input-twice", "output-twice"],
)
def test_a_local_path_outside_the_processing_folder_is_refused(account: StrictAccount, change: Any) -> None:
    job = request(account, account.role(job_statements(account.bucket)))
    change(job)
    with pytest.raises(ClientError) as raised:
        account.client("sagemaker").create_processing_job(**job)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "/opt/ml/processing/" in raised.value.response["Error"]["Message"] or "unique" in str(raised.value)
    assert not ESCAPE.exists()


def test_a_role_that_does_not_trust_sagemaker_is_refused_at_create(account: StrictAccount) -> None:
    iam, name = account.client("iam"), unique("untrusted")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "scheduler.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": job_statements(account.bucket)}
    iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(policy))
    with pytest.raises(ClientError) as raised:
        account.client("sagemaker").create_processing_job(**request(account, role))
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == (
        f"Could not assume role {role}. Please ensure that the role exists and allows principal "
        "'sagemaker.amazonaws.com' to assume the role."
    )
