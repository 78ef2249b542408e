"""AWS::CloudWatch::Alarm in CloudFormation, which moto 5.2 skips ("no support").

The rollback alarms must exist locally: the endpoint's auto-rollback reads them, the execution role's
cloudwatch:DescribeAlarms grant names their ARNs, and `aws cloudwatch set-alarm-state` must be able to fire
one during a blue/green update. An unnamed alarm is named `<stack>-<logical id>-<random>`, as CloudFormation
names it ("Name type" in the resource's documentation).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from local_aws import backends


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
