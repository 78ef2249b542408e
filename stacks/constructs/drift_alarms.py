"""Alarms on the drift monitor's figures, per endpoint and variant, notifying the alarm topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from contract import drift_monitor as monitor
from stacks.nag import NIST, acknowledge


class DriftAlarms(Construct):
    """One alarm per figure and variant; each run publishes one datapoint per figure, so one period = one run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_names: tuple[str, ...],
        period_seconds: int,
        topic_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        figures = {
            monitor.PSI_METRIC: monitor.PSI_ALARM_THRESHOLD,
            monitor.OUTLIER_SHARE_METRIC: monitor.OUTLIER_SHARE_ALARM_THRESHOLD,
        }
        self.alarms = [
            self._alarm(endpoint_name, variant, metric, threshold, period_seconds)
            for variant in variant_names
            for metric, threshold in figures.items()
        ] + [self._heartbeat(endpoint_name, variant, period_seconds) for variant in variant_names]
        if topic_arn:
            self._notify(topic_arn)
        else:
            for alarm in self.alarms:
                acknowledge(
                    alarm,
                    f"{NIST}-CloudWatchAlarmAction",
                    "No alarm_topic_arn is set: the drift alarms' state is still visible in CloudWatch; set "
                    "alarm_topic_arn to notify people.",
                )

    def _alarm(
        self, endpoint_name: str, variant: str, metric_name: str, threshold: float, period_seconds: int
    ) -> cloudwatch.Alarm:
        metric = cloudwatch.Metric(
            namespace=monitor.METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={monitor.ENDPOINT_DIMENSION: endpoint_name, monitor.VARIANT_DIMENSION: variant},
            statistic="Maximum",
            period=Duration.seconds(period_seconds),
        )
        return cloudwatch.Alarm(
            self,
            f"{variant}{metric_name}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            # The monitor calls drift when a figure reaches its threshold (monitoring.settings).
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No run (no traffic captured, or the job did not start) is no evidence of drift.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"kmeans-byom drift: {metric_name} of {endpoint_name}/{variant} at or over {threshold:g}",
        )

    def _heartbeat(self, endpoint_name: str, variant: str, period_seconds: int) -> cloudwatch.Alarm:
        """A broken monitor is silent, and the figures' alarms read silence as no drift: this one reads it as
        breaching. Every run that analysed its window publishes RowsAnalysed (0 for a quiet one), so fewer than one
        sample in HEARTBEAT_EVALUATION_PERIODS intervals means the schedule, the job or its rights are broken."""
        metric = cloudwatch.Metric(
            namespace=monitor.METRIC_NAMESPACE,
            metric_name=monitor.ROWS_METRIC,
            dimensions_map={monitor.ENDPOINT_DIMENSION: endpoint_name, monitor.VARIANT_DIMENSION: variant},
            statistic="SampleCount",
            period=Duration.seconds(period_seconds),
        )
        periods = monitor.HEARTBEAT_EVALUATION_PERIODS
        return cloudwatch.Alarm(
            self,
            f"{variant}MonitorHeartbeat",
            metric=metric,
            threshold=1,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"kmeans-byom drift monitor of {endpoint_name}/{variant}: no run published "
            f"{monitor.ROWS_METRIC} in {periods} intervals (schedule, job or rights broken)",
        )

    def _notify(self, topic_arn: str) -> None:
        from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
        from aws_cdk import aws_sns as sns

        action = cloudwatch_actions.SnsAction(sns.Topic.from_topic_arn(self, "Topic", topic_arn))
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
