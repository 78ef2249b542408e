"""Target-tracking autoscaling of the variant's instance count on invocations per instance."""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct

from stacks.settings import Scaling


class VariantAutoscaling(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint_name: str, variant_name: str, scaling: Scaling
    ) -> None:
        super().__init__(scope, construct_id)
        target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
        )
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=scaling.target_invocations,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        )
