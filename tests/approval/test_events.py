"""The approval rule's pattern (pending packages never match) and the pipeline's local equivalent, `follow`:
each approval or rejection deploys the newest approved package once, duplicates deploy nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from approval.follow import Follower
from approval.listen import listen
from contract.model_package import EVENT_DETAIL_TYPE, EVENT_SOURCE, approval_event_pattern, context_key
from contract.stack import Output
from tests.conftest import RunningLocalAws
from tests.registry.packages import create, new_group

ACCOUNT = "123456789012"


def event(group: str, status: str, *, source: str = EVENT_SOURCE, arn: str | None = None) -> dict[str, Any]:
    """A state-change event with the detail AWS documents ("Automating SageMaker with EventBridge")."""
    arn = arn or f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{group}/1"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-12-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 1,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
            "CreationTime": "2026-12-01T00:00:00Z",
        },
    }


@pytest.fixture(scope="module")
def events(local_aws: RunningLocalAws) -> Any:
    return local_aws.client("events")


@pytest.mark.parametrize(
    ("status", "group", "source", "matches"),
    [
        ("Approved", "digits", EVENT_SOURCE, True),
        ("Rejected", "digits", EVENT_SOURCE, True),
        ("PendingManualApproval", "digits", EVENT_SOURCE, False),
        ("Approved", "another-group", EVENT_SOURCE, False),
        ("Approved", "digits", "custom.sagemaker", False),
    ],
)
def test_only_approvals_and_rejections_of_the_group_match(status: str, group: str, source: str, matches: bool) -> None:
    assert matched(approval_event_pattern("digits"), event(group, status, source=source)) is matches


def test_a_shared_registrys_group_arn_matches_its_events_by_name() -> None:
    pattern = approval_event_pattern("arn:aws:sagemaker:us-east-1:210987654321:model-package-group/digits")
    assert matched(pattern, event("digits", "Approved"))


def matched(pattern: dict[str, Any], sent: dict[str, Any]) -> bool:
    """EventBridge's matching as the local AWS runs it (moto's matcher: its TestEventPattern is not implemented)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(sent))  # type: ignore[arg-type]


class FakeStack:
    """CloudFormation as `follow` reads it: one stack whose ModelPackageArn output is what was last deployed."""

    def __init__(self) -> None:
        self.deployed: list[str] = []

    def deploy(self, arn: str) -> int:
        self.deployed.append(arn)
        return 0

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 (botocore's parameter name)
        outputs = [{"OutputKey": Output.MODEL_PACKAGE_ARN, "OutputValue": self.deployed[-1]}] if self.deployed else []
        return {"Stacks": [{"StackName": StackName, "StackStatus": "UPDATE_COMPLETE", "Outputs": outputs}]}


def test_follow_deploys_each_change_once_and_rolls_back_on_rejection(
    local_aws: RunningLocalAws, events: Any, tmp_path: Path
) -> None:
    sagemaker, sqs = local_aws.client("sagemaker"), local_aws.client("sqs")
    group = new_group(sagemaker)
    queue_url = listen(events, sqs, group, f"q-{group}")
    stack = FakeStack()
    follower = Follower(
        sqs=sqs, sagemaker=sagemaker, cloudformation=stack, queue_url=queue_url, group=group, stack_name="S",
        context_file=tmp_path / "cdk.context.json", deploy=stack.deploy,
    )  # fmt: skip

    def publish(arn: str, status: str, times: int = 1) -> None:
        entry = {"Source": EVENT_SOURCE, "DetailType": EVENT_DETAIL_TYPE}
        detail = json.dumps(event(group, status, arn=arn)["detail"])
        events.put_events(Entries=[{**entry, "Detail": detail, "Resources": [arn]}] * times)

    first = create(sagemaker, group, status="Approved")
    publish(first, "Approved", times=2)  # SageMaker may send an event twice
    assert follower.drain(say=lambda _: None) == 0
    assert stack.deployed == [first]

    second = create(sagemaker, group, status="Approved")
    publish(second, "Approved")
    pending = create(sagemaker, group)
    publish(pending, "PendingManualApproval")  # the rule does not deliver it
    assert follower.drain(say=lambda _: None) == 0
    assert stack.deployed == [first, second]

    sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Rejected")
    publish(second, "Rejected")
    assert follower.drain(say=lambda _: None) == 0
    assert stack.deployed == [first, second, first]
    recorded = json.loads((tmp_path / "cdk.context.json").read_text())[context_key(group)]
    assert recorded["arn"] == first


def test_a_failed_deploy_keeps_its_event_and_a_foreign_message_is_dropped(
    local_aws: RunningLocalAws, events: Any, tmp_path: Path
) -> None:
    sagemaker, sqs = local_aws.client("sagemaker"), local_aws.client("sqs")
    group = new_group(sagemaker)
    queue_url = listen(events, sqs, group, f"q-{group}")
    attempts: list[str] = []

    def failing(arn: str) -> int:
        attempts.append(arn)
        return 3

    follower = Follower(
        sqs=sqs, sagemaker=sagemaker, cloudformation=FakeStack(), queue_url=queue_url, group=group, stack_name="S",
        context_file=tmp_path / "cdk.context.json", deploy=failing,
    )  # fmt: skip
    sqs.send_message(QueueUrl=queue_url, MessageBody="not an event")
    arn = create(sagemaker, group, status="Approved")
    events.put_events(Entries=[{"Source": EVENT_SOURCE, "DetailType": EVENT_DETAIL_TYPE,
                                "Detail": json.dumps(event(group, "Approved", arn=arn)["detail"])}])  # fmt: skip

    assert follower.drain(say=lambda _: None) == 3
    assert follower.drain(say=lambda _: None) == 3  # retried at once, not after the visibility timeout
    assert attempts == [arn, arn]


def test_rejecting_the_last_approved_package_fails_the_run_and_keeps_the_event(
    local_aws: RunningLocalAws, events: Any, tmp_path: Path
) -> None:
    sagemaker, sqs = local_aws.client("sagemaker"), local_aws.client("sqs")
    group = new_group(sagemaker)
    queue_url = listen(events, sqs, group, f"q-{group}")
    stack = FakeStack()
    said: list[str] = []
    follower = Follower(
        sqs=sqs, sagemaker=sagemaker, cloudformation=stack, queue_url=queue_url, group=group, stack_name="S",
        context_file=tmp_path / "cdk.context.json", deploy=stack.deploy,
    )  # fmt: skip
    only = create(sagemaker, group, status="Approved")
    sagemaker.update_model_package(ModelPackageArn=only, ModelApprovalStatus="Rejected")
    events.put_events(Entries=[{"Source": EVENT_SOURCE, "DetailType": EVENT_DETAIL_TYPE,
                                "Detail": json.dumps(event(group, "Rejected", arn=only)["detail"])}])  # fmt: skip

    assert follower.drain(say=said.append) == 1
    assert follower.drain(say=said.append) == 1  # the event is visible again at once, not after DEPLOY_TIMEOUT_S
    assert stack.deployed == []
    errors = [line for line in said if line.startswith("error:")]
    assert len(errors) == 2
    assert "has no Approved package" in errors[0]
