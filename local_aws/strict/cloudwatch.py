"""AWS::CloudWatch::Alarm in CloudFormation, which moto 5.2 skips ("no support").

The rollback alarms must exist locally: the endpoint's auto-rollback reads them, the execution role's
cloudwatch:DescribeAlarms grant names their ARNs, and `aws cloudwatch set-alarm-state` must be able to fire
one during a blue/green update. An unnamed alarm is named `<stack>-<logical id>-<random>`, as CloudFormation
names it ("Name type" in the resource's documentation).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.common_models import CloudFormationModel

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict import originals


class AlarmResource(CloudFormationModel):
    """Ref gives the alarm's name; Fn::GetAtt Arn its ARN."""

    def __init__(self, name: str, arn: str) -> None:
        self.name, self.arn = name, arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> AlarmResource:
        properties = cloudformation_json["Properties"]
        statistic = properties.get("Statistic")
        extended = properties.get("ExtendedStatistic")
        alarm = backends.cloudwatch(account_id, region_name).put_metric_alarm(
            name=resource_name,
            namespace=properties.get("Namespace", ""),
            metric_name=properties.get("MetricName", ""),
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties.get("Period", 60)),
            threshold=float(properties.get("Threshold", 0)),
            statistic=statistic,
            extended_statistic=extended,
            description=properties.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in properties.get("Dimensions", [])],
            alarm_actions=properties.get("AlarmActions", []),
            ok_actions=properties.get("OKActions", []),
            treat_missing_data=properties.get("TreatMissingData"),
            datapoints_to_alarm=properties.get("DatapointsToAlarm"),
            insufficient_data_actions=properties.get("InsufficientDataActions", []),
        )
        return cls(alarm.name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> AlarmResource:
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backends.cloudwatch(account_id, region_name).delete_alarms([resource_name])


# PutMetricData evaluates the alarms on the metrics it put (moto only stores the data: its alarms move only by
# SetAlarmState). One metric alarm as CloudWatch evaluates it (user guide, "Using Amazon CloudWatch alarms":
# "Evaluating an alarm", "Configuring how CloudWatch alarms treat missing data"): the statistic of each of the
# last EvaluationPeriods periods (aligned to the period, the last one being the period of the newest datapoint
# or of now, whichever is later), each compared with the threshold; ALARM when at least DatapointsToAlarm
# (default EvaluationPeriods) breach, else OK; a period without data counts as TreatMissingData says
# (`missing`, the default: left out, all missing gives INSUFFICIENT_DATA; `ignore`: left out, all missing keeps
# the state; `breaching`, `notBreaching`). A state change notifies its AlarmActions / OKActions /
# InsufficientDataActions topics with CloudWatch's JSON message ("Amazon SNS message format" of alarm
# notifications). Alarms on metric math (Metrics) are left alone.
RELATIONS = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
REGION_NAMES = {"us-east-1": "US East (N. Virginia)"}
EVALUATION_RANGE_MIN = 5


def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """moto's PutMetricData, then every metric alarm on what it put is evaluated."""
    from moto.cloudwatch.models import CloudWatchBackend

    originals.original(CloudWatchBackend, "put_metric_data")(self, namespace, metric_data)
    if not enforced("alarm-evaluation"):
        return
    names = {metric["MetricName"] for metric in metric_data}
    for alarm in list(self.alarms.values()):
        if alarm.namespace == namespace and alarm.metric_name in names and not alarm.metric_data_queries:
            evaluate(self, alarm, time.time())


def evaluate(backend: Any, alarm: Any, now: float) -> None:
    """Move `alarm` to the state its datapoints give, notifying its actions on a change."""
    values = _period_values(backend, alarm, now)
    state, reason = _state(alarm, values)
    if state is None or state == alarm.state_value:
        return
    old = alarm.state_value
    recent = [value for _, value in values if value is not None]
    data = json.dumps(
        {"version": "1.0", "queryDate": _iso(now), "recentDatapoints": recent, "threshold": alarm.threshold}
    )
    alarm.update_state(reason, data, state)
    actions = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }
    if alarm.actions_enabled:
        _notify(alarm, old, now, [arn for arn in actions[state] if ":sns:" in arn])


Point = tuple[float, "float | None"]  # (the period's start, epoch seconds; its statistic or None)


def _period_values(backend: Any, alarm: Any, now: float) -> list[Point]:
    """The statistic of each period of the alarm's evaluation range, oldest first; None where there is no data."""
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    points = [
        (_epoch(datum.timestamp), float(datum.value))
        for datum in list(backend.metric_data)
        if datum.namespace == alarm.namespace and datum.name == alarm.metric_name and hasattr(datum, "value")
        and {(d.name, d.value) for d in datum.dimensions} == wanted
    ]  # fmt: skip
    period = int(alarm.period)
    last = int(max([now, *(at for at, _ in points)]) // period)
    buckets: dict[int, list[float]] = {}
    for at, value in points:
        buckets.setdefault(int(at // period), []).append(value)
    first = last - evaluation_range(int(alarm.evaluation_periods)) + 1
    return [(float(index * period), _statistic(alarm, buckets.get(index))) for index in range(first, last + 1)]


def evaluation_range(evaluation_periods: int) -> int:
    """How many periods an evaluation retrieves: more than EvaluationPeriods (user guide, "How alarm state is
    evaluated when data is missing"), how many more is not documented (it depends on the period and the metric's
    resolution). We take 5, or EvaluationPeriods + 2 when more, as the guide's examples retrieve 5 datapoints for
    3 evaluation periods: a longer range is the worse case for an alarm that relies on missing data (old
    datapoints keep deciding longer, TreatMissingData is set aside longer)."""
    return max(EVALUATION_RANGE_MIN, evaluation_periods + 2)


def _statistic(alarm: Any, values: list[float] | None) -> float | None:
    if not values:
        return None
    if alarm.extended_statistic:
        ordered = sorted(values)
        rank = float(alarm.extended_statistic.lstrip("p")) / 100 * (len(ordered) - 1)
        return ordered[round(rank)]
    reduce: dict[str, Callable[[list[float]], float]] = {"Maximum": max, "Minimum": min, "Sum": sum, "SampleCount": len,
              "Average": lambda found: sum(found) / len(found)}  # fmt: skip
    return float(reduce[alarm.statistic](values))


def _state(alarm: Any, in_range: list[Point]) -> tuple[str | None, str]:
    """(new state or None to keep it, the reason CloudWatch gives), from the evaluation range's values.

    When at least EvaluationPeriods datapoints exist in the range, the most recent EvaluationPeriods of them decide
    and TreatMissingData is not used; else the last EvaluationPeriods periods, missing ones as it says (user
    guide, "How alarm state is evaluated when data is missing")."""
    treat = alarm.treat_missing_data or "missing"
    compare = COMPARE[alarm.comparison_operator]
    periods = int(alarm.evaluation_periods)
    existing = [(at, v) for at, v in in_range if v is not None]
    values = existing[-periods:] if len(existing) >= periods else in_range[-periods:]
    judged = [
        compare(v, alarm.threshold) if v is not None else {"breaching": True, "notBreaching": False}.get(treat)
        for _, v in values
    ]
    counted = [verdict for verdict in judged if verdict is not None]
    if not counted:
        if treat == "ignore":
            return None, ""
        return "INSUFFICIENT_DATA", f"Insufficient Data: {len(values)} datapoints were unknown."
    needed = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
    breaching = sum(1 for verdict in counted if verdict)
    alarming = breaching >= needed
    shown = ", ".join(f"{v:g} ({_reason_time(at)})" for at, v in reversed(values) if v is not None)
    relation = RELATIONS[alarm.comparison_operator] if alarming else f"not {RELATIONS[alarm.comparison_operator]}"
    transition = (
        f"minimum {needed} datapoint{'s' if needed != 1 else ''} for {alarm.state_value} -> ALARM transition"
        if alarming
        else f"minimum {len(values) - needed + 1} datapoint{'s' if len(values) - needed else ''} for ALARM -> OK "
        "transition"
    )
    count = breaching if alarming else len(counted) - breaching
    reason = (
        f"Threshold Crossed: {count} out of the last {len(values)} datapoints [{shown}] was {relation} "
        f"the threshold ({alarm.threshold:g}) ({transition})."
    )
    return ("ALARM" if alarming else "OK"), reason


def _reason_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%d/%m/%y %H:%M:%S")


def _notify(alarm: Any, old: str, now: float, topics: list[str]) -> None:
    region = alarm.region_name
    message = {
        "AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": alarm.alarm_arn.split(":")[4],
        "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason, "StateChangeTime": _iso(now),
        "Region": REGION_NAMES.get(region, region), "AlarmArn": alarm.alarm_arn, "OldStateValue": old,
        "AlarmConfigurationUpdatedTimestamp": _iso(_epoch(alarm.configuration_updated_timestamp)),
        "OKActions": list(alarm.ok_actions), "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name, "Namespace": alarm.namespace, "StatisticType": "Statistic",
            "Statistic": (alarm.statistic or "").upper(), "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period, "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator, "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "DatapointsToAlarm": int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
            "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
        },
    }  # fmt: skip
    subject = f'{alarm.state_value}: "{alarm.name}" in {REGION_NAMES.get(region, region)}'[:100]
    sns = backends.sns(alarm.alarm_arn.split(":")[4], region)
    for topic in topics:
        if topic in sns.topics:
            sns.publish(json.dumps(message), arn=topic, subject=subject)


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
