"""EventBridge Scheduler schedules fire on the local AWS: their universal target called as their role."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_aws.scheduler.fire import context_input, universal_target
from local_aws.scheduler.loop import TICK_S, due
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, TRUST, StrictAccount, allow, unique
from tests.local_aws.test_processing_jobs import SCRIPT, job_statements, request

SCHEDULER_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Principal": {"Service": "scheduler.amazonaws.com"},
    "Action": "sts:AssumeRole",
}
SCHEDULER_TRUST: dict[str, Any] = {"Version": "2012-10-17", "Statement": [SCHEDULER_STATEMENT]}


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    found = StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "schedules")
    s3 = found.client("s3")
    s3.put_object(Bucket=found.bucket, Key="code/job.py", Body=SCRIPT)
    s3.put_object(Bucket=found.bucket, Key="data/a.csv", Body=b"1,2\n")
    return found


def scheduler_role(
    account: StrictAccount, statements: list[dict[str, Any]], trust: dict[str, Any] = SCHEDULER_TRUST
) -> str:
    iam, name = account.client("iam"), unique("scheduler")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(document))
    return arn


def schedule(
    account: StrictAccount, starter: str, expression: str = "rate(1 hour)", prefix: str = "drift"
) -> tuple[str, dict[str, Any]]:
    job = request(account, account.role(job_statements(account.bucket)))
    job["ProcessingJobName"] = f"{prefix}-<aws.scheduler.execution-id>"
    name = unique("every-hour")
    account.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob",
            "RoleArn": starter,
            "Input": json.dumps(job),
        },
    )
    return name, job


def fire(local_aws: RunningLocalAws, name: str) -> Any:
    return local_aws.run(sys.executable, "-m", "local_aws", "fire-schedule", name, timeout=60)


def test_firing_a_schedule_starts_its_processing_job_under_a_name_of_its_own(
    local_aws: RunningLocalAws, account: StrictAccount
) -> None:
    jobs = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/drift-*"
    name, _ = schedule(
        account,
        scheduler_role(account, [allow(["sagemaker:CreateProcessingJob"], [jobs]), allow(["iam:PassRole"], ["*"])]),
    )
    names = []
    for _ in range(2):
        fired = fire(local_aws, name)
        assert fired.returncode == 0, fired.stderr
        assert fired.stdout.startswith(f"fired {name} (execution ")
        names.append(json.loads(fired.stdout.split(" -> ", 1)[1])["ProcessingJobArn"].rsplit("/", 1)[1])
    assert len(set(names)) == 2
    assert all(found.startswith("drift-") and len(found) == len("drift-") + 16 for found in names)
    sagemaker = account.client("sagemaker")
    sagemaker.get_waiter("processing_job_completed_or_stopped").wait(
        ProcessingJobName=names[0], WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    described = sagemaker.describe_processing_job(ProcessingJobName=names[0])
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")


def test_the_control_plane_fires_a_due_schedule_by_itself(local_aws: RunningLocalAws, account: StrictAccount) -> None:
    starter = scheduler_role(account, [allow(["sagemaker:CreateProcessingJob", "iam:PassRole"], ["*"])])
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    prefix = unique("at")
    schedule(account, starter, expression=f"at({now})", prefix=prefix)
    sagemaker, started = account.client("sagemaker"), []
    for _ in range(int(3 * TICK_S)):  # the loop ticks every TICK_S seconds
        summaries = sagemaker.list_processing_jobs(NameContains=prefix)["ProcessingJobSummaries"]
        started = [summary["ProcessingJobName"] for summary in summaries]
        if started:
            break
        time.sleep(1)
    time.sleep(TICK_S)  # a one-time schedule fires once
    assert len(sagemaker.list_processing_jobs(NameContains=prefix)["ProcessingJobSummaries"]) == 1
    assert started[0].startswith(f"{prefix}-")


def test_a_schedule_whose_role_may_not_start_the_job_fails_to_fire_with_access_denied(
    local_aws: RunningLocalAws, account: StrictAccount
) -> None:
    name, _ = schedule(account, scheduler_role(account, [allow(["iam:PassRole"], ["*"])]))
    fired = fire(local_aws, name)
    assert fired.returncode == 1
    assert "AccessDeniedException" in fired.stderr
    assert "sagemaker:CreateProcessingJob" in fired.stderr
    assert len(fired.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "trust",
    [
        TRUST,  # trusted by SageMaker, not by Scheduler
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    **SCHEDULER_STATEMENT,
                    "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
                }
            ],
        },  # another account's schedules
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    **SCHEDULER_STATEMENT,
                    "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:scheduler:*:*:schedule-group/other"}},
                }
            ],
        },
    ],
    ids=["sagemaker-principal", "other-account", "other-group"],
)
def test_a_schedule_whose_role_does_not_trust_scheduler_does_not_fire(
    local_aws: RunningLocalAws, account: StrictAccount, trust: dict[str, Any]
) -> None:
    jobs = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/*"
    grants = [allow(["sagemaker:CreateProcessingJob"], [jobs]), allow(["iam:PassRole"], ["*"])]
    name, _ = schedule(account, scheduler_role(account, grants, trust))
    fired = fire(local_aws, name)
    assert fired.returncode == 1, fired.stdout
    assert "trust policy does not allow the service principal scheduler.amazonaws.com" in fired.stderr
    assert len(fired.stderr.strip().splitlines()) == 1


def test_a_schedule_trusted_for_its_own_account_and_group_fires(
    local_aws: RunningLocalAws, account: StrictAccount
) -> None:
    group = f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/default"
    condition = {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": group}}
    trust = {"Version": "2012-10-17", "Statement": [{**SCHEDULER_STATEMENT, "Condition": condition}]}
    jobs = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/*"
    grants = [allow(["sagemaker:CreateProcessingJob"], [jobs]), allow(["iam:PassRole"], ["*"])]
    name, _ = schedule(account, scheduler_role(account, grants, trust))
    fired = fire(local_aws, name)
    assert fired.returncode == 0, fired.stderr


def test_firing_a_schedule_that_does_not_exist_is_one_line(local_aws: RunningLocalAws) -> None:
    fired = fire(local_aws, "no-such-schedule")
    assert fired.returncode == 1
    assert fired.stderr.startswith("python -m local_aws: error: fire-schedule no-such-schedule: no schedule")
    assert len(fired.stderr.strip().splitlines()) == 1


def test_context_attributes_are_replaced_and_universal_targets_named() -> None:
    at = datetime(2026, 3, 22, 18, 59, 43, tzinfo=UTC)
    text = context_input(
        '{"a": "x-<aws.scheduler.execution-id>", "t": "<aws.scheduler.scheduled-time>"}', "arn", at, "d32c5kddcf5bb8c3"
    )
    assert json.loads(text) == {"a": "x-d32c5kddcf5bb8c3", "t": "2026-03-22T18:59:43Z"}
    assert universal_target("arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob") == (
        "sagemaker",
        "CreateProcessingJob",
    )


def test_a_rate_schedule_is_due_once_per_interval_and_never_catches_up_twice() -> None:
    start = 1_000_000.0
    assert due("rate(1 hour)", start, None, start + 3599) is None
    assert due("rate(1 hour)", start, None, start + 3600) == start + 3600
    assert due("rate(1 hour)", start, start + 3600, start + 3700) is None
    assert due("rate(1 hour)", start, start + 3600, start + 3 * 3600 + 5) == start + 3 * 3600
    assert due("cron(0 * * * ? *)", start, None, start + 86400) is None
