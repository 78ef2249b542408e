"""Alarms that SageMaker watches during a blue/green update, rolling back when one fires."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.nag import NIST, acknowledge
from stacks.settings import AlarmThresholds

MICROSECONDS_PER_MS = 1000


def _metric(name: str, statistic: str, dimensions: dict[str, str]) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SageMaker",
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=Duration.minutes(1),
    )


class RollbackAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        thresholds: AlarmThresholds,
    ) -> None:
        super().__init__(scope, construct_id)
        self._evaluation_periods = thresholds.evaluation_periods
        dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
        errors = _metric("Invocation5XXErrors", "Sum", dimensions)
        latency = _metric("ModelLatency", "p99", dimensions)
        self.alarms = [
            self._alarm("Invocation5XXErrors", errors, thresholds.errors_5xx),
            self._alarm("ModelLatencyP99", latency, thresholds.model_latency_ms * MICROSECONDS_PER_MS),
        ]
        self.alarm_names = [alarm.alarm_name for alarm in self.alarms]
        self.alarm_arns = [alarm.alarm_arn for alarm in self.alarms]
        if thresholds.topic_arn:
            self._notify(thresholds.topic_arn)
        else:
            self._acknowledge_no_action()

    def _notify(self, topic_arn: str) -> None:
        from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
        from aws_cdk import aws_sns as sns

        action = cloudwatch_actions.SnsAction(sns.Topic.from_topic_arn(self, "Topic", topic_arn))
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

    def _acknowledge_no_action(self) -> None:
        for alarm in self.alarms:
            acknowledge(
                alarm,
                f"{NIST}-CloudWatchAlarmAction",
                "These alarms exist for SageMaker's blue/green auto-rollback, which reads their state; "
                "set alarm_topic_arn to notify people as well.",
            )

    def _alarm(self, name: str, metric: cloudwatch.Metric, threshold: float) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=self._evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"kmeans-byom {name}: rolls back a blue/green update of the endpoint",
        )
