"""Roles as moto holds them: their policy documents, their credentials, and IAM's verdict on a request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from local_aws import backends
from local_aws.config import ACCOUNT_ID, AUTHORIZED_SESSIONS
from local_aws.strict.iam.policy import AuthorizationRequest, Decision, PolicyError, evaluate

PARTITION = "aws"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    message: str


def role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


class RoleNotFoundError(LookupError):
    """No such role in the local IAM: it grants nothing."""


def role_documents(role_arn: str) -> list[dict[str, Any]]:
    """The role's inline and attached managed policies, as parsed JSON."""
    try:
        role = backends.iam().get_role(role_name(role_arn))
    except Exception as error:  # moto's NoSuchEntity
        raise RoleNotFoundError(f"role {role_arn} does not exist") from error
    documents = [_parsed(document) for document in role.policies.values()]
    for policy in role.managed_policies.values():
        default = next(version for version in policy.versions if version.is_default)
        documents.append(_parsed(default.document))
    return documents


def parsed_document(document: Any) -> dict[str, Any]:
    """A policy document as moto keeps it (JSON text, perhaps URL-encoded, or a dict), parsed."""
    return _parsed(document)


def _parsed(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    text = unquote(document) if document.lstrip().startswith("%7B") else document
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def assumed_role_arn(access_key_id: str) -> tuple[str, str] | None:
    """(role ARN, session ARN) of credentials `run --as` obtained, or None for any other key.

    Only those sessions are evaluated, and the asynchronous runtime's, which acts as an endpoint's execution role
    (session `SageMaker`): the CDK CLI also assumes roles, but the bootstrap roles are the CDK's (broad by design),
    not the project's, and the project's policies are what the local AWS is here to check.
    """
    for assumed in backends.sts().assumed_roles:
        if assumed.access_key_id == access_key_id and assumed.session_name in AUTHORIZED_SESSIONS:
            session = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name(assumed.role_arn)}/{assumed.session_name}"
            return assumed.role_arn, session
    return None


def judge(role_arn: str, principal: str, request: AuthorizationRequest) -> Verdict:
    """IAM's decision for `principal` (acting as `role_arn`), worded as AWS words a denial."""
    subject = f"User: {principal} is not authorized to perform: {request.action} on resource: {request.resource}"
    try:
        decision = evaluate(role_documents(role_arn), request)
    except PolicyError as error:
        return Verdict(False, f"{subject} because the local AWS cannot evaluate its policy: {error}")
    except RoleNotFoundError as error:
        return Verdict(False, f"{subject} because the {error}")
    if decision is Decision.ALLOWED:
        return Verdict(True, "")
    if decision is Decision.EXPLICIT_DENY:
        return Verdict(False, f"{subject} with an explicit deny in an identity-based policy")
    return Verdict(False, f"{subject} because no identity-based policy allows the {request.action} action")
