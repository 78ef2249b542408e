"""Fire one schedule: its universal target's API called with its role's credentials, context attributes replaced.

A universal target is `arn:aws:scheduler:::aws-sdk:<service>:<apiAction>` and its `Input` is the API's request
as JSON (Scheduler user guide, "Using universal targets"). Before the call, Scheduler replaces the context
attributes `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>`
(unique per attempted invocation) and `<aws.scheduler.attempt-number>` in the input (user guide, "Adding
context attributes"). Scheduler acts as the target's `RoleArn`: the call is authorized against that role.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError

from local_aws.config import DUMMY_KEY_ID, DUMMY_SECRET, REGION, SCHEDULER_SESSION_NAME
from local_aws.rules import enforced
from local_aws.strict.iam.trust import trust_allows

UNIVERSAL_PREFIX = "arn:aws:scheduler:::aws-sdk:"
SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"


class FireError(Exception):
    """The schedule could not call its target; the message is one line in AWS's words."""


@dataclass(frozen=True)
class Firing:
    """One attempted invocation: what was called, with which execution id, and what it answered."""

    schedule: str
    operation: str
    execution_id: str
    response: dict[str, Any]


def context_input(text: str, schedule_arn: str, scheduled: datetime, execution_id: str, attempt: int = 1) -> str:
    """The target's input with the context attributes replaced."""
    values = {
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.scheduled-time>": scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": execution_id,
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for keyword, value in values.items():
        text = text.replace(keyword, value)
    return text


def universal_target(arn: str) -> tuple[str, str]:
    """(boto3 service name, API operation name) of a universal target ARN."""
    if not arn.startswith(UNIVERSAL_PREFIX):
        raise FireError(
            f"the local AWS fires universal targets only ({UNIVERSAL_PREFIX}<service>:<apiAction>), not {arn}"
        )
    service, _, action = arn.removeprefix(UNIVERSAL_PREFIX).partition(":")
    if not service or not action:
        raise FireError(f"{arn} is not a universal target ARN")
    return service, action[0].upper() + action[1:]


def fire(endpoint: str, name: str, group: str | None = None, scheduled: datetime | None = None) -> Firing:
    """Fire the schedule `name` once, now (or as due at `scheduled`)."""
    scheduler = _session(DUMMY_KEY_ID, DUMMY_SECRET).client("scheduler", endpoint_url=endpoint)
    try:
        schedule = scheduler.get_schedule(Name=name, **_group(group))
    except ClientError as error:
        raise FireError(f"no schedule {name}: {error.response['Error']['Message']}") from error
    target = schedule["Target"]
    service, operation = universal_target(target["Arn"])
    execution_id = secrets.token_hex(8)
    text = context_input(target.get("Input") or "{}", schedule["Arn"], scheduled or datetime.now(UTC), execution_id)
    _check_trust(endpoint, target["RoleArn"], schedule["Arn"], schedule.get("GroupName") or "default")
    client = _as_role(endpoint, target["RoleArn"]).client(service, endpoint_url=endpoint)
    if operation not in client.meta.service_model.operation_names:
        raise FireError(f"{service} has no API action {operation}")
    try:
        response = getattr(client, xform_name(operation))(**json.loads(text))
    except ClientError as error:
        failure = error.response["Error"]
        raise FireError(f"{operation} as {target['RoleArn']}: {failure['Code']}: {failure['Message']}") from error
    response.pop("ResponseMetadata", None)
    return Firing(schedule["Name"], operation, execution_id, response)


def _check_trust(endpoint: str, role_arn: str, schedule_arn: str, group: str) -> None:
    """Scheduler assumes the role as `scheduler.amazonaws.com`, sending aws:SourceAccount and aws:SourceArn (the
    schedule group's ARN; user guide "Set up the execution role"): a trust policy that does not allow it fails the
    invocation. AWS's words for that failure are not documented: ours name the role and the principal."""
    if not enforced("service-role-trust"):
        return
    iam = _session(DUMMY_KEY_ID, DUMMY_SECRET).client("iam", endpoint_url=endpoint)
    try:
        document = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]["AssumeRolePolicyDocument"]
    except ClientError as error:
        raise FireError(f"Scheduler cannot assume {role_arn}: {error.response['Error']['Message']}") from error
    account = schedule_arn.split(":")[4]
    context = {
        "aws:SourceAccount": account,
        "aws:SourceArn": f"arn:aws:scheduler:{REGION}:{account}:schedule-group/{group}",
    }
    if isinstance(document, str):
        document = json.loads(unquote(document))
    if not trust_allows(document, SCHEDULER_PRINCIPAL, context):
        raise FireError(
            f"Scheduler cannot assume the execution role {role_arn}: its trust policy does not allow the service "
            f"principal {SCHEDULER_PRINCIPAL} to sts:AssumeRole (with aws:SourceAccount {account})"
        )


def _group(group: str | None) -> dict[str, str]:
    return {"GroupName": group} if group else {}


def _session(key: str, secret: str, token: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token, region_name=REGION
    )


def _as_role(endpoint: str, role_arn: str) -> boto3.session.Session:
    """The schedule's role's credentials (`schedule-target-role`), else the account's own."""
    if not enforced("schedule-target-role"):
        return _session(DUMMY_KEY_ID, DUMMY_SECRET)
    sts = _session(DUMMY_KEY_ID, DUMMY_SECRET).client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=SCHEDULER_SESSION_NAME)["Credentials"]
    return _session(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
