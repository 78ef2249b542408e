"""The local AWS's model registry: approval as SageMaker keeps it, deploys of approved packages only, and the
state-change events EventBridge delivers to the targets of matching rules."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_aws.strict.events import COPIES_VARIABLE
from model_build.reference import ReferenceSet
from tests.conftest import RunningLocalAws, started_local_aws
from tests.local_aws.strict_account import IMAGE, TRUST, StrictAccount, hosting_statements, unique
from tests.registry.packages import create, new_group

ROLE_ARN = "arn:aws:iam::123456789012:role/registry-tests"
# What the pipeline listens for: decisions on one group; a pending package must not match.
DECISIONS = ["Approved", "Rejected"]


@pytest.fixture(scope="module", autouse=True)
def registry_role(local_aws: RunningLocalAws) -> str:
    """The models' execution role: SageMaker acts only as a role that trusts it (service-role-trust)."""
    iam = local_aws.client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=ROLE_ARN.rsplit("/", 1)[-1], AssumeRolePolicyDocument=json.dumps(TRUST))
    return ROLE_ARN


@pytest.fixture(scope="module")
def sagemaker(local_aws: RunningLocalAws) -> Any:
    return local_aws.client("sagemaker")


def decisions_rule(aws: RunningLocalAws, group: str, name: str) -> str:
    """An EventBridge rule for the group's approval decisions; its ARN."""
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": [group], "ModelApprovalStatus": DECISIONS},
    }
    return str(aws.client("events").put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"])


def queue_policy(queue_arn: str, rule_arn: str) -> str:
    """What the EventBridge User Guide asks of a target queue: events.amazonaws.com may send, for this rule."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def listen(aws: RunningLocalAws, group: str, name: str, *, allowed: bool = True) -> str:
    """An SQS queue that receives the group's approval decisions through an EventBridge rule; its URL."""
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = decisions_rule(aws, group, name)
    if allowed:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": queue_policy(queue_arn, rule_arn)})
    aws.client("events").put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue)


def received(aws: RunningLocalAws, queue: str) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_versioned_package_created_without_a_status_is_pending_manual_approval(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group, status=None)

    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_an_update_changes_only_what_it_is_given(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group)
    before = sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]

    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"reviewed-by": "ops"})

    after = sagemaker.describe_model_package(ModelPackageName=arn)
    assert after["CustomerMetadataProperties"] == {**before, "reviewed-by": "ops"}
    assert (after["ModelApprovalStatus"], after["ApprovalDescription"]) == ("Approved", "ok")


def test_a_decided_package_cannot_go_back_to_pending(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    with pytest.raises(ClientError, match="not back to PendingManualApproval") as refused:
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="PendingManualApproval")

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_model_from_a_package_that_is_not_approved_is_refused(sagemaker: Any, status: str) -> None:
    arn = create(sagemaker, new_group(sagemaker), status=status)

    with pytest.raises(ClientError, match=f"has ModelApprovalStatus {status}") as refused:
        sagemaker.create_model(
            ModelName=f"from-{status.lower()}", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": arn}
        )

    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_a_model_from_an_approved_package_serves_the_packages_artifact(
    local_aws: RunningLocalAws, artifact_dir: Path
) -> None:
    account = StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "package")
    sagemaker = account.client("sagemaker")
    group = new_group(sagemaker)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{account.bucket}/good.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    model = unique("from-package")
    role = account.role(hosting_statements(account.bucket))

    sagemaker.create_model(ModelName=model, ExecutionRoleArn=role, PrimaryContainer={"ModelPackageName": arn})
    endpoint = account.endpoint(account.config(model))

    assert sagemaker.describe_model(ModelName=model)["PrimaryContainer"] == {"ModelPackageName": arn}
    assert endpoint["EndpointStatus"] == "InService"
    reference = ReferenceSet.from_npz_bytes((artifact_dir / "reference.npz").read_bytes())
    body = ",".join(f"{value:.9g}" for value in reference.rows[0])
    answer = account.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint["EndpointName"], ContentType="text/csv", Accept="application/json", Body=body
    )
    closest = json.loads(answer["Body"].read())["predictions"][0]["closest_cluster"]
    assert closest == reference.closest_cluster[0]


@pytest.mark.parametrize(
    ("status", "outcome"), [("PendingManualApproval", "ROLLBACK_COMPLETE"), ("Approved", "CREATE_COMPLETE")]
)
def test_a_stack_serves_a_package_only_once_it_is_approved(
    local_aws: RunningLocalAws, status: str, outcome: str
) -> None:
    sagemaker, cloudformation = local_aws.client("sagemaker"), local_aws.client("cloudformation")
    arn = create(sagemaker, new_group(sagemaker), status=status)
    model = {"ExecutionRoleArn": ROLE_ARN, "PrimaryContainer": {"ModelPackageName": arn}}
    body = {"Resources": {"Model": {"Type": "AWS::SageMaker::Model", "Properties": model}}}
    stack = f"serves-{status.lower()}"

    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(body))

    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == outcome


def test_decisions_reach_the_rules_target_and_a_pending_package_does_not_match(local_aws: RunningLocalAws) -> None:
    sagemaker = local_aws.client("sagemaker")
    group = new_group(sagemaker)
    queue = listen(local_aws, group, f"{group}-decisions")

    arn = create(sagemaker, group)
    assert received(local_aws, queue) == []
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    approved = received(local_aws, queue)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    rejected = received(local_aws, queue)

    assert [event["detail"]["ModelApprovalStatus"] for event in approved + rejected] == DECISIONS
    event = approved[0]
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.sagemaker",
        "SageMaker Model Package State Change",
        [arn],
    )
    detail = event["detail"]
    assert (detail["ModelPackageGroupName"], detail["ModelPackageArn"], detail["ModelPackageVersion"]) == (
        group,
        arn,
        1,
    )
    # ISO-8601 to the second, as the developer guide's example shows it ("2021-02-24T17:00:14Z")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", detail["CreationTime"])
    assert detail["ModelPackageStatus"] == "Completed"


def test_a_queue_whose_policy_does_not_let_eventbridge_send_receives_nothing(local_aws: RunningLocalAws) -> None:
    sagemaker = local_aws.client("sagemaker")
    group = new_group(sagemaker)
    closed = listen(local_aws, group, f"{group}-closed", allowed=False)
    open_ = listen(local_aws, group, f"{group}-open")  # the same events, to a queue that allows them

    sagemaker.update_model_package(ModelPackageArn=create(sagemaker, group), ModelApprovalStatus="Approved")

    assert len(received(local_aws, open_)) == 1
    assert received(local_aws, closed) == []


def test_decisions_reach_topics_and_log_groups_too(local_aws: RunningLocalAws) -> None:
    sagemaker, sns, sqs, logs = (local_aws.client(name) for name in ("sagemaker", "sns", "sqs", "logs"))
    group = new_group(sagemaker)
    topic = sns.create_topic(Name=f"{group}-topic")["TopicArn"]
    subscriber = sqs.create_queue(QueueName=f"{group}-subscriber")["QueueUrl"]
    subscriber_arn = sqs.get_queue_attributes(QueueUrl=subscriber, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=subscriber_arn["QueueArn"], Attributes={"RawMessageDelivery": "true"}
    )
    log_group = f"/aws/events/{group}"
    logs.create_log_group(logGroupName=log_group)
    log_group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group}"
    decisions_rule(local_aws, group, group)
    local_aws.client("events").put_targets(
        Rule=group, Targets=[{"Id": "topic", "Arn": topic}, {"Id": "logs", "Arn": log_group_arn}]
    )

    arn = create(sagemaker, group)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    assert [event["detail"]["ModelPackageArn"] for event in received(local_aws, subscriber)] == [arn]
    logged = logs.filter_log_events(logGroupName=log_group)["events"]
    assert [json.loads(event["message"])["detail"]["ModelApprovalStatus"] for event in logged] == ["Approved"]


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocalAws]:
    """A local AWS that sends every service event twice, as SageMaker may."""
    with started_local_aws(tmp_path_factory.mktemp("twice"), **{COPIES_VARIABLE: "2"}) as running:
        yield running


def test_a_state_change_can_arrive_twice_as_two_events(twice: RunningLocalAws) -> None:
    sagemaker = twice.client("sagemaker")
    group = new_group(sagemaker)
    queue = listen(twice, group, "twice")
    arn = create(sagemaker, group)

    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    events = received(twice, queue)
    assert [event["detail"]["ModelPackageArn"] for event in events] == [arn, arn]
    assert events[0]["id"] != events[1]["id"]


def test_an_update_that_keeps_the_status_sends_no_state_change(local_aws: RunningLocalAws) -> None:
    sagemaker = local_aws.client("sagemaker")
    group = new_group(sagemaker)
    queue = listen(local_aws, group, f"{group}-same")
    arn = create(sagemaker, group)

    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="again")

    assert [event["detail"]["ModelApprovalStatus"] for event in received(local_aws, queue)] == ["Approved"]
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ApprovalDescription"] == "again"
