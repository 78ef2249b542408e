"""AWS::Scheduler::Schedule in CloudFormation, which moto 5.2 skips ("no support").

The drift monitor's schedule must exist locally so that it fires (local_aws.scheduler). An unnamed schedule is
named `<stack>-<logical id>-<random>` by moto, as CloudFormation names resources ("Name type"); `Ref` gives the
name, `Fn::GetAtt Arn` the ARN (CloudFormation User Guide, AWS::Scheduler::Schedule, return values).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from local_aws import backends


class ScheduleResource(CloudFormationModel):
    """One schedule in moto's scheduler backend."""

    def __init__(self, name: str, group: str, arn: str) -> None:
        self.name, self.group, self.arn = name, group, arn

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
        return "AWS::Scheduler::Schedule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ScheduleResource:
        properties = cloudformation_json["Properties"]
        target = dict(properties["Target"])
        schedule = backends.scheduler(account_id, region_name).create_schedule(
            description=properties.get("Description"),
            end_date=properties.get("EndDate"),
            flexible_time_window=properties["FlexibleTimeWindow"],
            group_name=properties.get("GroupName"),
            kms_key_arn=properties.get("KmsKeyArn"),
            name=resource_name,
            schedule_expression=properties["ScheduleExpression"],
            schedule_expression_timezone=properties.get("ScheduleExpressionTimezone"),
            start_date=properties.get("StartDate"),
            state=properties.get("State"),
            target=target,
            action_after_completion=None,
        )
        return cls(schedule.name, schedule.group_name, schedule.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> ScheduleResource:
        cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        group = cloudformation_json.get("Properties", {}).get("GroupName")
        backends.scheduler(account_id, region_name).delete_schedule(group, resource_name)
