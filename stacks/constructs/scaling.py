"""Target-tracking autoscaling of the variant's instance count on invocations per instance."""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct

from stacks.settings import Settings


class VariantAutoscaling(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, endpoint_name: str) -> None:
        super().__init__(scope, construct_id)
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{endpoint_name}/variant/{settings.variant_name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=settings.autoscaling_min,
            max_capacity=settings.autoscaling_max,
        )
        self.target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=settings.autoscaling_target_invocations,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        )
