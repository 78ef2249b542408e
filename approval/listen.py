"""Where approvals arrive: the approval rule (the pipeline's pattern) with an SQS queue as its target."""

from __future__ import annotations

import json
from typing import Any

from contract.model_package import approval_event_pattern, group_name


def rule_name(group: str) -> str:
    return f"{group_name(group)}-approvals"


def listen(events: Any, sqs: Any, group: str, queue_name: str) -> str:
    """Create (or keep) the queue and the rule that sends it the group's approvals; the queue's URL."""
    queue_url: str = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(
        Name=rule_name(group), EventPattern=json.dumps(approval_event_pattern(group)), State="ENABLED"
    )["RuleArn"]
    # EventBridge delivers to a queue only if the queue's policy lets this rule send to it.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ApprovalRuleSends",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=rule_name(group), Targets=[{"Id": "approvals", "Arn": queue_arn}])
    return queue_url
