"""The scheduled drift monitor end to end on the local AWS: schedule -> processing job -> metrics -> alarm -> SNS."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import WaiterError

from contract import drift_monitor as monitor
from model_build.reference import ReferenceSet
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import unique
from tests.test_end_to_end import STACK, cdk, deploy, settled_capture

pytestmark = pytest.mark.slow
ROWS_PER_REQUEST, REQUESTS = 100, 12  # 1,200 rows: above the monitor's 1,000-row minimum


def alarm_topic(local_aws: RunningLocalAws) -> tuple[str, str]:
    """An SNS topic with an SQS subscription: (topic ARN, queue URL)."""
    sns, sqs = local_aws.client("sns"), local_aws.client("sqs")
    arn = sns.create_topic(Name=unique("drift-alarms"))["TopicArn"]
    queue = sqs.create_queue(QueueName=unique("drift-alarm-messages"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return arn, queue


def send_shifted_traffic(local_aws: RunningLocalAws, artifact_dir: Path, endpoint: str) -> None:
    """Rows the model has not seen the like of: the reference rows scaled and moved far from every centroid."""
    reference = ReferenceSet.from_npz_bytes((artifact_dir / "reference.npz").read_bytes()).rows
    rng = np.random.default_rng(7)
    runtime = local_aws.client("sagemaker-runtime")
    for _ in range(REQUESTS):
        rows = reference[rng.integers(0, len(reference), ROWS_PER_REQUEST)] * 3.0 + 40.0
        body = "\n".join(",".join(f"{value:.6g}" for value in row) for row in rows)
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body.encode())


def stack_resource(local_aws: RunningLocalAws, resource_type: str) -> str:
    resources = local_aws.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    (found,) = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == resource_type]
    return str(found)


def drift_alarm(local_aws: RunningLocalAws, endpoint: str, metric: str) -> dict[str, Any]:
    alarms = local_aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    (found,) = [
        a for a in alarms
        if a.get("Namespace") == monitor.METRIC_NAMESPACE and a["MetricName"] == metric
        and {d["Name"]: d["Value"] for d in a["Dimensions"]} == {"EndpointName": endpoint, "VariantName": "AllTraffic"}
    ]  # fmt: skip
    return dict(found)


def test_a_fired_schedule_runs_the_monitor_whose_figures_raise_the_drift_alarm(
    bootstrapped: RunningLocalAws, artifact_dir: Path, tmp_path: Path
) -> None:
    local_aws = bootstrapped
    topic, queue = alarm_topic(local_aws)
    deploy(local_aws, artifact_dir, tmp_path / "outputs.json", "data_capture=true", "drift_monitoring=true",
           f"alarm_topic_arn={topic}")  # fmt: skip
    endpoint = json.loads((tmp_path / "outputs.json").read_text())[STACK]["EndpointName"]
    try:
        send_shifted_traffic(local_aws, artifact_dir, endpoint)
        settled_capture(local_aws)
        schedule = stack_resource(local_aws, "AWS::Scheduler::Schedule")
        # Fired as due once the capture lag has passed: the run's window ends the lag before its scheduled time.
        due = datetime.now(UTC) + timedelta(seconds=monitor.CAPTURE_LAG_SECONDS + 60)
        fired = local_aws.run(
            sys.executable, "-m", "local_aws", "fire-schedule", schedule, "--at", due.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        assert fired.returncode == 0, fired.stderr
        job = json.loads(fired.stdout.split(" -> ", 1)[1])["ProcessingJobArn"].rsplit("/", 1)[1]
        sagemaker = local_aws.client("sagemaker")
        with contextlib.suppress(WaiterError):  # a Failed job: described, with its log, below
            sagemaker.get_waiter("processing_job_completed_or_stopped").wait(
                ProcessingJobName=job, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
        described = sagemaker.describe_processing_job(ProcessingJobName=job)
        log = job_log(local_aws, job)
        # Every row lands far from its centroid, in clusters shared much as in training: outliers, not a PSI move.
        alarm = drift_alarm(local_aws, endpoint, monitor.OUTLIER_SHARE_METRIC)
        psi = drift_alarm(local_aws, endpoint, monitor.PSI_METRIC)
        received = local_aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        bucket = stack_resource_bucket(local_aws)
        reports = local_aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{monitor.REPORT_PREFIX}/{endpoint}/")
    finally:
        local_aws.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
        cdk(local_aws, artifact_dir, "destroy", STACK, "--force", "--no-notices")

    remaining = local_aws.client("scheduler").list_schedules()["Schedules"]
    assert schedule not in [found["Name"] for found in remaining]  # destroy deleted it: nothing fires any more
    assert job.startswith(monitor.JOB_NAME_PREFIX)
    assert described["ProcessingJobStatus"] == "Completed", (described.get("FailureReason"), log)
    assert "AllTraffic: drift" in log
    assert "100.0% beyond p99" in log
    assert alarm["StateValue"] == "ALARM", (alarm["StateReason"], log)
    assert psi["StateValue"] == "OK", (psi["StateReason"], log)
    messages = [json.loads(message["Body"]) for message in received.get("Messages", [])]
    assert [(m["AlarmName"], m["NewStateValue"]) for m in messages if m["AlarmName"] == alarm["AlarmName"]] == [
        (alarm["AlarmName"], "ALARM")
    ]
    keys = [item["Key"] for item in reports.get("Contents", [])]
    assert [key.rsplit("/", 1)[-1] for key in keys] == ["report.json"]


def stack_resource_bucket(local_aws: RunningLocalAws) -> str:
    """The capture bucket (the one whose name is not the access-log bucket's)."""
    resources = local_aws.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    (found,) = [
        r["PhysicalResourceId"] for r in resources
        if r["ResourceType"] == "AWS::S3::Bucket" and "AccessLogs" not in r["LogicalResourceId"]
    ]  # fmt: skip
    return str(found)


def job_log(local_aws: RunningLocalAws, job: str) -> str:
    """What the job's instance wrote to its log stream."""
    logs, group = local_aws.client("logs"), "/aws/sagemaker/ProcessingJobs"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return ""  # the job failed before any instance started
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job}/")["logStreams"]
    events = [
        e for s in streams for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
    ]
    return "\n".join(event["message"] for event in events)
