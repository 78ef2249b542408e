"""EventBridge as AWS services use it: an event an AWS service emits reaches the targets of every matching rule.

moto's EventBridge matches patterns and delivers `PutEvents` to SQS queues, log groups and archives, but no
AWS service of moto emits its events, and a rule with a target moto cannot reach (CodePipeline, Lambda, SNS)
makes its delivery raise. Here a service event goes to the default bus of its account and region; each
ENABLED rule whose pattern matches it sends it, through the rule's `InputTransformer` if it has one, to its
SQS queues (FIFO with `SqsParameters.MessageGroupId`), SNS topics and CloudWatch log groups. Other target
types are skipped: the local AWS has no CodePipeline or Lambda to start. A queue receives an event only if its
policy lets `events.amazonaws.com` `sqs:SendMessage` to it (for this rule, when it says `aws:SourceArn`), as the
EventBridge User Guide's "Amazon SQS permissions" requires; without it EventBridge drops the event (the rule's
`FailedInvocations`), and so does the local AWS. Topic policies are not checked.

AWS says a service "may send multiple events to EventBridge for each state change" (SageMaker Developer Guide,
"Events that Amazon SageMaker sends to Amazon EventBridge"). `LOCAL_AWS_EVENT_COPIES=N` sends each event N
times, each with its own id (as separate events would have), so a consumer shows that it is idempotent on
what the event says, not on the event's id.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from moto.events.utils import EventMessageType, EventTemplateParser

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.iam.policy import AuthorizationRequest, Decision, evaluate

COPIES_VARIABLE: Final = "LOCAL_AWS_EVENT_COPIES"
DEFAULT_BUS: Final = "default"
EVENTS_PRINCIPAL: Final = "events.amazonaws.com"


def copies() -> int:
    """How many times each service event is sent (`LOCAL_AWS_EVENT_COPIES`, default 1)."""
    text = os.environ.get(COPIES_VARIABLE, "1")
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{COPIES_VARIABLE}: expected a whole number >= 1, got {text!r}")
    return int(text)


def emit(
    source: str, detail_type: str, detail: dict[str, Any], *, resources: list[str], account: str, region: str
) -> list[EventMessageType]:
    """Send a service event to the default bus (`copies()` times); the events sent, as targets receive them."""
    sent: list[EventMessageType] = []
    for _ in range(copies()):
        event: EventMessageType = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": account,
            "time": datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": resources,
            "detail": detail,
        }
        deliver(event, account, region)
        sent.append(event)
    return sent


def deliver(event: EventMessageType, account: str, region: str) -> None:
    """Send `event` to the targets of every enabled rule of the default bus that matches it."""
    bus = backends.events(account, region).event_buses[DEFAULT_BUS]
    for rule in list(bus.rules.values()):
        if rule.state == "ENABLED" and rule.event_pattern.matches_event(event):
            for target in rule.targets:
                _send(target, _input(target, event), rule.arn, account, region)


def _input(target: dict[str, Any], event: EventMessageType) -> str:
    transformer = target.get("InputTransformer")
    if transformer is None:
        return json.dumps(event)
    parsed = EventTemplateParser.parse(
        input_template=transformer.get("InputTemplate"),
        input_paths_map=transformer.get("InputPathsMap", {}),
        event=event,
    )
    return parsed if isinstance(parsed, str) else json.dumps(parsed)


def _send(target: dict[str, Any], body: str, rule_arn: str, account: str, region: str) -> None:
    arn = target["Arn"]
    service, resource = arn.split(":")[2], arn.split(":", 5)[5]
    if service == "sqs":
        if not queue_allows(arn, rule_arn, account, region):
            return
        group = target.get("SqsParameters", {}).get("MessageGroupId")
        backends.sqs(account, region).send_message(queue_name=resource, message_body=body, group_id=group)
    elif service == "sns":
        backends.sns(account, region).publish(message=body, arn=arn)
    elif service == "logs" and resource.startswith("log-group:"):
        group_name = resource.removeprefix("log-group:").removesuffix(":*")
        logs = backends.logs(account, region)
        stream = str(uuid.uuid4())
        logs.create_log_stream(group_name, stream)
        logs.put_log_events(group_name, stream, [{"timestamp": int(time.time() * 1000), "message": body}])


def queue_allows(queue_arn: str, rule_arn: str, account: str, region: str) -> bool:
    """Whether the queue's policy lets EventBridge send it this rule's events."""
    if not enforced("events-sqs-queue-policy"):
        return True
    policy = backends.sqs(account, region).get_queue(queue_arn.rsplit(":", 1)[1]).policy
    statements = json.loads(policy).get("Statement", []) if policy else []
    statements = [statements] if isinstance(statements, dict) else statements
    for_events = [statement for statement in statements if _names_events(statement.get("Principal"))]
    request = AuthorizationRequest(
        "sqs:SendMessage", queue_arn, {"aws:SourceArn": rule_arn, "aws:SourceAccount": account}
    )
    return evaluate([{"Statement": for_events}], request) is Decision.ALLOWED


def _names_events(principal: Any) -> bool:
    if principal == "*":
        return True
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    return EVENTS_PRINCIPAL in ([services] if isinstance(services, str) else services)
