"""The pipeline's equivalent where CodePipeline does not run: consume the approval rule's events from SQS and, for
each, resolve the newest approved package and run the deploy command (synth, deploy, verify) when it changed.

Idempotent as the pipeline is: the stack's `ModelPackageArn` output says what is served, so a duplicate event, or a
second event that resolves to the same package, deploys nothing (and a deploy of an unchanged record would be a
no-op change set anyway: the same template).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from approval.resolve import ApprovalError, record, resolve
from contract.model_package import DEPLOYING_STATUSES, EVENT_DETAIL_TYPE, EVENT_SOURCE, group_name
from contract.stack import Output, describe_stack, is_missing_stack
from registry.packages import RegistryError

PACKAGE_VARIABLE = "MODEL_PACKAGE_ARN"  # the deploy command's environment: the package it deploys
RECEIVE_WAIT_S = 2  # an empty receive this long ends a drain: every event sent so far has been handled
DEPLOY_TIMEOUT_S = 3600  # a received event stays invisible to other readers while its deploy runs


@dataclass(frozen=True)
class ApprovalEvent:
    """One state change the rule delivered: which package, and what it became."""

    group: str
    package_arn: str
    status: str


def parse_event(body: str) -> ApprovalEvent:
    """An EventBridge event as the rule's SQS target receives it (the event itself, as JSON)."""
    try:
        event = json.loads(body)
        detail = event["detail"]
        if event["source"] != EVENT_SOURCE or event["detail-type"] != EVENT_DETAIL_TYPE:
            raise ValueError(f"a {event['source']} {event['detail-type']!r} event")
        return ApprovalEvent(detail["ModelPackageGroupName"], detail["ModelPackageArn"], detail["ModelApprovalStatus"])
    except (ValueError, KeyError, TypeError) as error:
        raise ApprovalError(f"not a model package state change ({error})") from error


def served_package(cloudformation: Any, stack_name: str) -> str | None:
    """The package the stack serves now (its ModelPackageArn output); None before its first deploy."""
    try:
        return describe_stack(stack_name, cloudformation).outputs.get(Output.MODEL_PACKAGE_ARN)
    except ClientError as error:
        if is_missing_stack(error):
            return None
        raise


@dataclass(frozen=True)
class Follower:
    """What one `follow` run needs: where events arrive, which group and stack, and how to deploy."""

    sqs: Any
    sagemaker: Any
    cloudformation: Any
    queue_url: str
    group: str
    stack_name: str
    context_file: Path
    deploy: Callable[[str], int]  # runs the deploy command for a package ARN; its exit status

    def drain(self, say: Callable[[str], None] = print) -> int:
        """Handle every event waiting in the queue, oldest first; stop at the first failed deploy (its status), or at
        the first event that cannot be handled (no approved package left, a package refused: one line, 1)."""
        for message in self._messages():
            try:
                event = parse_event(message["Body"])
            except ApprovalError as error:
                say(f"ignored: {error}")  # never retried: it would stop every later run
            else:
                try:
                    status = self.handle(event, say)
                except (ApprovalError, RegistryError, ClientError) as error:
                    # e.g. the last approved package rejected: nothing to deploy, the stack keeps serving what it
                    # served; the event stays for the next run, as a failed deploy's does.
                    say(f"error: {event.status} {event.package_arn}: {error}")
                    status = 1
                if status:  # the event stays, visible at once: the next run retries it
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                    return status
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return 0

    def handle(self, event: ApprovalEvent, say: Callable[[str], None]) -> int:
        if event.group != group_name(self.group) or event.status not in DEPLOYING_STATUSES:
            say(f"ignored: {event.package_arn} {event.status} (not an approval of {self.group})")
            return 0
        package = resolve(self.sagemaker, self.group)
        if served_package(self.cloudformation, self.stack_name) == package.arn:
            say(f"{event.status} {event.package_arn}: {self.stack_name} already serves {package.arn}; nothing to do")
            return 0
        record(self.context_file, self.group, package)
        say(f"{event.status} {event.package_arn}: deploying {package.arn} to {self.stack_name}")
        return self.deploy(package.arn)

    def _messages(self) -> Iterator[dict[str, Any]]:
        while True:
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=RECEIVE_WAIT_S,
                VisibilityTimeout=DEPLOY_TIMEOUT_S,
            )
            messages = received.get("Messages") or []
            if not messages:
                return
            yield from messages


def run_command(command: list[str]) -> Callable[[str], int]:
    """The deploy command, run with the package's ARN in MODEL_PACKAGE_ARN."""

    def deploy(package_arn: str) -> int:
        return subprocess.run(command, env={**os.environ, PACKAGE_VARIABLE: package_arn}, check=False).returncode

    return deploy
