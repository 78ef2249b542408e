"""AWS::ApplicationAutoScaling::ScalableTarget in CloudFormation, which moto 5.2 skips ("no support").

The target must exist locally for SageMaker's rule that an update may not change the instance type of an
autoscaled variant (docs: "Update an endpoint that uses automatic scaling").
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from local_aws import backends


class ScalableTarget(CloudFormationModel):
    """A registered target; its physical id is `resource id|dimension|namespace`, as CloudFormation's."""

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.namespace, self.resource_id, self.dimension = namespace, resource_id, dimension

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ScalableTarget:
        properties = cloudformation_json["Properties"]
        backends.autoscaling(account_id, region_name).register_scalable_target(
            namespace=properties["ServiceNamespace"],
            r_id=properties["ResourceId"],
            dimension=properties["ScalableDimension"],
            min_capacity=int(properties["MinCapacity"]),
            max_capacity=int(properties["MaxCapacity"]),
            role_arn=properties.get("RoleARN", ""),
            suspended_state=properties.get("SuspendedState", {}),
        )
        return cls(properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"])

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> ScalableTarget:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        properties = cloudformation_json["Properties"]
        backends.autoscaling(account_id, region_name).deregister_scalable_target(
            properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"]
        )
