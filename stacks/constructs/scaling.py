"""Autoscaling of the variant's instance count: on invocations per instance, or on an async endpoint's queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.settings import Scaling


class VariantAutoscaling(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint_name: str, variant_name: str, scaling: Scaling
    ) -> None:
        super().__init__(scope, construct_id)
        target = _variant_target(self, endpoint_name, variant_name, scaling)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=scaling.target_invocations,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        )


class BacklogAutoscaling(Construct):
    """An asynchronous endpoint scales on its queue: target tracking on the backlog per instance, and a step
    policy on `HasBacklogWithoutCapacity` to come back from zero instances (developer guide "Autoscale an
    asynchronous endpoint")."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        scaling: Scaling,
        target_backlog_per_instance: int,
    ) -> None:
        super().__init__(scope, construct_id)
        target = _variant_target(self, endpoint_name, variant_name, scaling)
        dimensions = {"EndpointName": endpoint_name}
        target.scale_to_track_metric(
            "BacklogPerInstance",
            target_value=target_backlog_per_instance,
            custom_metric=_sagemaker_metric("ApproximateBacklogSizePerInstance", dimensions),
        )
        target.scale_on_metric(
            "FromZero",
            metric=_sagemaker_metric("HasBacklogWithoutCapacity", dimensions),
            scaling_steps=[
                appscaling.ScalingInterval(upper=0.5, change=0),
                appscaling.ScalingInterval(lower=0.5, change=1),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(5),
        )


def _variant_target(
    scope: Construct, endpoint_name: str, variant_name: str, scaling: Scaling
) -> appscaling.ScalableTarget:
    return appscaling.ScalableTarget(
        scope,
        "Target",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=scaling.min_capacity,
        max_capacity=scaling.max_capacity,
    )


def _sagemaker_metric(name: str, dimensions: dict[str, str]) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SageMaker", metric_name=name, dimensions_map=dimensions, statistic="Average",
        period=Duration.minutes(1),
    )  # fmt: skip
