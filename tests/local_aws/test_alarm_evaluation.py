"""PutMetricData evaluates the alarms on its metric: ALARM and back to OK, each change published to SNS."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import unique

NAMESPACE = "kmeans-byom/Test"


@pytest.fixture(scope="module")
def topic(local_aws: RunningLocalAws) -> tuple[str, str]:
    """An SNS topic with an SQS subscription, so a test can read what the topic was sent: (topic ARN, queue URL)."""
    sns, sqs = local_aws.client("sns"), local_aws.client("sqs")
    arn = sns.create_topic(Name=unique("alarms"))["TopicArn"]
    queue = sqs.create_queue(QueueName=unique("alarm-messages"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return arn, queue


def alarm(local_aws: RunningLocalAws, topic_arn: str, **overrides: Any) -> tuple[str, list[dict[str, str]]]:
    name, dimensions = unique("drift"), [{"Name": "EndpointName", "Value": unique("endpoint")}]
    local_aws.client("cloudwatch").put_metric_alarm(**{
        "AlarmName": name, "Namespace": NAMESPACE, "MetricName": "ClusterSharePSI", "Dimensions": dimensions,
        "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 0.25,
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [topic_arn], "OKActions": [topic_arn], **overrides,
    })  # fmt: skip
    return name, dimensions


def put(local_aws: RunningLocalAws, dimensions: list[dict[str, str]], value: float, at: datetime) -> None:
    datum = {"MetricName": "ClusterSharePSI", "Dimensions": dimensions, "Value": value, "Timestamp": at}
    local_aws.client("cloudwatch").put_metric_data(Namespace=NAMESPACE, MetricData=[datum])


def state(local_aws: RunningLocalAws, name: str) -> str:
    (found,) = local_aws.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(found["StateValue"])


def messages(local_aws: RunningLocalAws, queue: str) -> list[dict[str, Any]]:
    received = local_aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(message["Body"]) for message in received.get("Messages", [])]


def test_a_breaching_datapoint_moves_the_alarm_to_alarm_and_a_later_good_one_back_to_ok(
    local_aws: RunningLocalAws, topic: tuple[str, str]
) -> None:
    topic_arn, queue = topic
    name, dimensions = alarm(local_aws, topic_arn)
    now = datetime.now(UTC)
    put(local_aws, [{"Name": "EndpointName", "Value": "another"}], 0.9, now)  # another endpoint's figure
    assert state(local_aws, name) == "OK"

    put(local_aws, dimensions, 0.9, now)
    assert state(local_aws, name) == "ALARM"
    (raised,) = [m for m in messages(local_aws, queue) if m["AlarmName"] == name]
    assert (raised["OldStateValue"], raised["NewStateValue"]) == ("OK", "ALARM")
    assert raised["Trigger"]["MetricName"] == "ClusterSharePSI"
    assert re.fullmatch(  # CloudWatch's form of the reason
        r"Threshold Crossed: 1 out of the last 1 datapoints \[0\.9 \(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)\] was "
        r"greater than the threshold \(0\.25\) \(minimum 1 datapoint for OK -> ALARM transition\)\.",
        raised["NewStateReason"],
    ), raised["NewStateReason"]
    trigger = raised["Trigger"]
    assert (trigger["DatapointsToAlarm"], trigger["EvaluateLowSampleCountPercentile"]) == (1, "")
    assert (raised["AlarmActions"], raised["OKActions"], raised["InsufficientDataActions"]) == (
        [topic_arn],
        [topic_arn],
        [],
    )
    assert raised["AlarmConfigurationUpdatedTimestamp"].endswith("+0000")

    put(local_aws, dimensions, 0.05, now + timedelta(seconds=60))  # the next period's figure
    assert state(local_aws, name) == "OK"
    (cleared,) = [m for m in messages(local_aws, queue) if m["AlarmName"] == name]
    assert (cleared["OldStateValue"], cleared["NewStateValue"]) == ("ALARM", "OK")


def test_datapoints_to_alarm_and_missing_data_decide_as_cloudwatch_does(
    local_aws: RunningLocalAws, topic: tuple[str, str]
) -> None:
    topic_arn, _ = topic
    name, dimensions = alarm(
        local_aws, topic_arn, EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="breaching", Period=60
    )
    now = datetime.now(UTC)
    put(local_aws, dimensions, 0.01, now)  # 2 periods before it are missing, read as breaching: 2 of 3
    assert state(local_aws, name) == "ALARM"
    put(local_aws, dimensions, 0.01, now + timedelta(seconds=60))  # one missing left: 1 of 3
    assert state(local_aws, name) == "OK"
    ignoring, ignored_dimensions = alarm(local_aws, topic_arn, TreatMissingData="missing", Statistic="Average")
    put(local_aws, ignored_dimensions, 0.3, now)
    put(local_aws, ignored_dimensions, 0.1, now)  # the period's average, 0.2, does not breach
    assert state(local_aws, ignoring) == "OK"


def test_existing_datapoints_in_the_evaluation_range_decide_and_missing_data_is_then_not_used(
    local_aws: RunningLocalAws, topic: tuple[str, str]
) -> None:
    """One evaluation period, missing data not breaching: a breaching figure 3 periods old still decides (the
    evaluation range is longer than EvaluationPeriods); one older than the range does not."""
    topic_arn, _ = topic
    now = datetime.now(UTC)
    recent, recent_dimensions = alarm(local_aws, topic_arn)
    put(local_aws, recent_dimensions, 0.9, now - timedelta(minutes=3))
    assert state(local_aws, recent) == "ALARM"
    old, old_dimensions = alarm(local_aws, topic_arn)
    put(local_aws, old_dimensions, 0.9, now - timedelta(minutes=6))
    assert state(local_aws, old) == "OK"
