"""The scheduled drift monitor in the template: the schedule's target, both roles' least privilege, the alarms."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from contract import drift_monitor as monitor
from model_build.manifest import read_build
from monitoring.layout import CODE_PACKAGES
from stacks.constructs.drift import code_zip
from stacks.settings import SettingsError, drift_window_seconds, settings_from_context
from tests.stacks.conftest import TOPIC_ARN, Synthesized


@pytest.fixture(scope="module")
def drift(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The `drift` variant of tests/stacks/conftest.py (every template check runs on it too)."""
    return synthesized["drift"]


def _only(stack: Synthesized, resource_type: str) -> dict[str, Any]:
    found = stack.resources(resource_type)
    assert len(found) == 1, found
    return next(iter(found.values()))


def _request(stack: Synthesized) -> dict[str, Any]:
    """CreateProcessingJob's request as the schedule sends it, every token rendered as `<token>`."""
    target = _only(stack, "AWS::Scheduler::Schedule")["Properties"]["Target"]
    parts = target["Input"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "<token>" for part in parts)
    return dict(json.loads(text))


def _policy_of(stack: Synthesized, role_prefix: str) -> list[dict[str, Any]]:
    policies = [
        body["Properties"]
        for name, body in stack.resources("AWS::IAM::ManagedPolicy").items()
        if name.startswith(f"DriftMonitor{role_prefix}")
    ]
    assert len(policies) == 1, policies
    return list(policies[0]["PolicyDocument"]["Statement"])


def test_the_schedule_starts_a_processing_job_named_per_run(drift: Synthesized, artifact_dir: Path) -> None:
    schedule = _only(drift, "AWS::Scheduler::Schedule")["Properties"]
    assert schedule["ScheduleExpression"] == "rate(30 minutes)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
    request = _request(drift)
    assert request["ProcessingJobName"] == "kmeans-drift-<aws.scheduler.execution-id>"
    assert request["AppSpecification"]["ImageUri"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["python3", "-m", "monitoring.scheduled"]
    arguments = request["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--since") + 1] == "1800s"
    assert arguments[arguments.index("--end") + 1] == "<aws.scheduler.scheduled-time>"
    assert arguments[arguments.index("--artifact-sha256") + 1] == read_build(artifact_dir).artifact_sha256
    assert arguments[arguments.index("--baseline") + 1].startswith(f"{monitor.BASELINE_PATH}/")
    assert [arguments[i + 1] for i, a in enumerate(arguments) if a == "--variant"] == ["AllTraffic", "Shadow"]
    inputs = {item["InputName"]: item["S3Input"] for item in request["ProcessingInputs"]}
    # The capture is no input (an S3Prefix input would copy the endpoint's whole history each run): the job reads
    # its window's hour folders from the endpoint's capture folder itself, the window ending the lag early.
    assert {name: item["LocalPath"] for name, item in inputs.items()} == {
        "code": monitor.CODE_PATH, "baseline": monitor.BASELINE_PATH,
    }  # fmt: skip
    assert arguments[arguments.index("--capture-s3") + 1] == "s3://<token>/capture/KMeansEndpoint/"
    assert arguments[arguments.index("--capture") + 1] == monitor.CAPTURE_PATH
    assert arguments[arguments.index("--lag") + 1] == f"{monitor.CAPTURE_LAG_SECONDS}s" == "900s"
    assert request["Environment"]["PYTHONPATH"].startswith(f"{monitor.CODE_PATH}/")
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == "s3://<token>/drift-reports/KMeansEndpoint/<aws.scheduler.scheduled-time>/"
    assert output["S3Output"]["S3UploadMode"] == "EndOfJob"


def test_the_scheduler_may_only_start_the_monitors_jobs_and_pass_their_role(drift: Synthesized) -> None:
    statements = _policy_of(drift, "SchedulerRole")
    assert [s["Action"] for s in statements] == ["sagemaker:CreateProcessingJob", "iam:PassRole"]
    start, pass_role = statements
    assert start["Resource"]["Fn::Join"][1][-1] == ":processing-job/kmeans-drift-*"
    assert pass_role["Resource"] == {"Fn::GetAtt": [_processing_role(drift), "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    trust = [
        body["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        for name, body in drift.resources("AWS::IAM::Role").items()
        if name.startswith("DriftMonitorSchedulerRole")
    ]
    assert trust[0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def _processing_role(stack: Synthesized) -> str:
    (name,) = [name for name in stack.resources("AWS::IAM::Role") if name.startswith("DriftMonitorProcessingRole")]
    return name


def test_the_processing_role_reads_its_inputs_writes_reports_and_puts_only_its_namespace(drift: Synthesized) -> None:
    statements = {s["Sid"]: s for s in _policy_of(drift, "ProcessingRole")}
    assert set(statements) == {
        "ReadMonitorInputs", "ListCapture", "ListMonitorInputs", "WriteDriftReports", "PublishDriftMetrics",
        "WriteProcessingLogs", "CreateProcessingLogGroup", "UseMonitorKey", "GrantMonitorVolumeKey",
        "PullScikitLearnImage", "GetRegistryToken",
    }  # fmt: skip
    # The volume key is the stack's key: SageMaker creates a grant on it for the instance (kms:CreateGrant).
    assert statements["GrantMonitorVolumeKey"]["Action"] == "kms:CreateGrant"
    assert statements["GrantMonitorVolumeKey"]["Resource"] == statements["UseMonitorKey"]["Resource"]
    assert statements["PublishDriftMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": monitor.METRIC_NAMESPACE}
    }
    assert statements["ListCapture"]["Condition"] == {"StringLike": {"s3:prefix": "capture/KMeansEndpoint/*"}}
    listed = statements["ListMonitorInputs"]["Condition"]["StringEquals"]["s3:prefix"]
    assert [key.rsplit(".", 1)[1] for key in listed] == ["zip", "json"]
    reads = json.dumps(statements["ReadMonitorInputs"]["Resource"])
    assert reads.count(".zip") == 1
    assert reads.count("/capture/KMeansEndpoint/*") == 1
    assert json.dumps(statements["WriteDriftReports"]["Resource"]).endswith('/drift-reports/KMeansEndpoint/*"]]}')
    assert statements["WriteProcessingLogs"]["Resource"]["Fn::Join"][1][-1].endswith(
        ":log-group:/aws/sagemaker/ProcessingJobs:log-stream:kmeans-drift-*"
    )
    # CloudWatch Logs: the bare group ARN covers only tagging; CreateLogGroup needs `log-group:NAME:*`.
    assert statements["CreateProcessingLogGroup"]["Resource"]["Fn::Join"][1][-1].endswith(
        ":log-group:/aws/sagemaker/ProcessingJobs:*"
    )
    assert "Condition" not in statements["ReadMonitorInputs"]
    assert statements["GetRegistryToken"]["Resource"] == "*"


def test_each_variant_has_a_drift_and_an_outlier_alarm_that_notify_the_topic(drift: Synthesized) -> None:
    alarms = [
        body["Properties"]
        for body in drift.resources("AWS::CloudWatch::Alarm").values()
        if body["Properties"].get("Namespace") == monitor.METRIC_NAMESPACE
        and body["Properties"]["MetricName"] != monitor.ROWS_METRIC
    ]
    assert alarms
    seen = {
        (a["MetricName"], {d["Name"]: d["Value"] for d in a["Dimensions"]}[monitor.VARIANT_DIMENSION]) for a in alarms
    }
    metrics = (monitor.PSI_METRIC, monitor.OUTLIER_SHARE_METRIC)
    assert seen == {(metric, variant) for metric in metrics for variant in ("AllTraffic", "Shadow")}
    for alarm in alarms:
        assert (alarm["Period"], alarm["Statistic"], alarm["EvaluationPeriods"]) == (1800, "Maximum", 1)
        assert alarm["AlarmActions"] == [TOPIC_ARN]
        assert alarm["OKActions"] == [TOPIC_ARN]
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_without_drift_monitoring_there_is_no_schedule(default: Synthesized) -> None:
    assert default.resources("AWS::Scheduler::Schedule") == {}


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"drift_monitoring": "true"}, "context drift_monitoring: needs data_capture=true"),
        ({"drift_monitoring": "true", "data_capture": "true", "drift_schedule": "cron(0 * * * ? *)"}, "rate expr"),
        ({"drift_monitoring": "true", "data_capture": "true", "drift_schedule": "rate(5 minutes)"}, "outside 10 min"),
        ({"drift_monitoring": "true", "data_capture": "true", "drift_schedule": "rate(2 hour)"}, "plural otherwise"),
    ],
)
def test_impossible_drift_settings_fail_in_one_line(context: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        settings_from_context(context, check_artifact=False)
    assert "\n" not in str(raised.value)


def test_rate_expressions_give_the_window() -> None:
    assert [drift_window_seconds(e) for e in ("rate(1 hour)", "rate(30 minutes)", "rate(1 day)")] == [3600, 1800, 86400]


def test_the_code_zip_holds_the_monitors_sources_only_and_is_the_same_for_the_same_sources() -> None:
    first = code_zip(CODE_PACKAGES)
    built = first.read_bytes()
    first.unlink()  # built again from the sources
    names = zipfile.ZipFile(code_zip(CODE_PACKAGES)).namelist()
    assert {"monitoring/scheduled.py", "monitoring/processing.py", "wire/portable.py"} <= set(names)
    assert not [name for name in names if name.endswith(("_pb2.py", ".pyc"))]
    assert code_zip(CODE_PACKAGES).read_bytes() == built


def test_the_alarms_fire_where_the_monitor_says_drift() -> None:
    assert (monitor.PSI_ALARM_THRESHOLD, monitor.OUTLIER_SHARE_ALARM_THRESHOLD) == (0.25, 0.05)


def test_each_variant_has_a_heartbeat_that_reads_a_missing_run_as_breaching(drift: Synthesized) -> None:
    heartbeats = [
        body["Properties"]
        for body in drift.resources("AWS::CloudWatch::Alarm").values()
        if body["Properties"].get("MetricName") == monitor.ROWS_METRIC
    ]
    variants = sorted({d["Name"]: d["Value"] for d in a["Dimensions"]}[monitor.VARIANT_DIMENSION] for a in heartbeats)
    assert variants == ["AllTraffic", "Shadow"]
    for alarm in heartbeats:
        assert alarm["Namespace"] == monitor.METRIC_NAMESPACE
        assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("SampleCount", 1800, 1)
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
        assert alarm["ComparisonOperator"] == "LessThanThreshold"
        assert alarm["TreatMissingData"] == "breaching"
        assert alarm["AlarmActions"] == [TOPIC_ARN]
        assert alarm["OKActions"] == [TOPIC_ARN]
