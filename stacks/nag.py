"""cdk-nag acknowledgements: each names one full finding id and says why it is acceptable here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from stacks.endpoint_stack import KMeansEndpointStack

AWS_SOLUTIONS = "AwsSolutions::AwsSolutions"
NIST = "NIST.800.53.R5::NIST.800.53.R5"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_findings(stack: KMeansEndpointStack) -> None:
    """Acknowledge the findings this design accepts, each on the construct that raises it."""
    _role(stack)
    if stack.settings.in_vpc:
        _vpc(stack)
    if stack.capture is not None:
        _capture(stack)
    if not stack.settings.volume_key_allowed:
        acknowledge(
            stack.config,
            f"{NIST}-SageMakerEndpointConfigurationKMSKeyConfigured",
            f"{stack.settings.instance_type} has local NVMe storage, which AWS encrypts in hardware; "
            "CreateEndpointConfig refuses a KmsKeyId for such instance types.",
        )
    if not stack.settings.alarm_topic_arn:
        for alarm in stack.alarms.alarms:
            acknowledge(
                alarm,
                f"{NIST}-CloudWatchAlarmAction",
                "These alarms exist for SageMaker's blue/green auto-rollback, which reads their state; "
                "set alarm_topic_arn to notify people as well.",
            )


def _role(stack: KMeansEndpointStack) -> None:
    policy = stack.role.policy
    acknowledge(
        policy,
        f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
        "Only for actions without resource-level permissions: ecr:GetAuthorizationToken, "
        "cloudwatch:PutMetricData (conditioned on the SageMaker endpoint namespace) and, in a VPC, "
        "the EC2 network-interface actions SageMaker needs to attach the endpoint.",
    )
    acknowledge(
        policy,
        f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
        f"log-group:/aws/sagemaker/Endpoints/{stack.endpoint_name}:log-stream:*]",
        "SageMaker names one log stream per instance at run time; the grant is limited to the streams "
        "of this endpoint's own log group.",
    )


def _vpc(stack: KMeansEndpointStack) -> None:
    acknowledge(
        stack.role.policy,
        f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]",
        "SageMaker creates the endpoint's network interfaces at run time, so their ids are unknown here; "
        "creation is limited to the configured subnets and security groups, and the other actions by an "
        "ec2:Subnet condition to those subnets.",
    )


def _capture(stack: KMeansEndpointStack) -> None:
    assert stack.capture is not None
    bucket_id = stack.resolve(stack.capture.bucket.bucket_arn)["Fn::GetAtt"][0]
    acknowledge(
        stack.role.policy,
        f"{AWS_SOLUTIONS}-IAM5[Resource::<{bucket_id}.Arn>/capture/*]",
        "SageMaker writes captured requests under date-based keys it chooses; the grant is s3:PutObject "
        "under the capture prefix of this stack's own bucket.",
    )
