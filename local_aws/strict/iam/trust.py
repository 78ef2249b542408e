"""Whether a service may act as a role: the role's trust policy (AssumeRolePolicyDocument) asked for the service.

Before a service uses a role it was given (EventBridge Scheduler a schedule's, SageMaker a job's), STS evaluates
the role's trust policy for `sts:AssumeRole` by that service principal, with the keys the service sends:
`aws:SourceAccount`, and `aws:SourceArn` where the service documents it (IAM user guide, "The confused deputy
problem"; Scheduler user guide "Set up the execution role": `aws:SourceArn` is the schedule group's ARN). The
trust policy's `Principal` takes the place of `Resource`; its conditions are evaluated as identity policies' are
(local_aws.strict.iam.policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.iam.policy import AuthorizationRequest, PolicyError, condition_holds, glob_matches
from local_aws.strict.iam.principals import parsed_document, role_name

ASSUME_ROLE = "sts:AssumeRole"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


def cannot_assume(role_arn: str) -> str:
    """SageMaker's words (ValidationException) when a role's trust policy does not let it assume the role, as
    CreateTransformJob answers them (and provisioning quotes them)."""
    return (
        f"Could not assume role {role_arn}. Please ensure that the role exists and allows principal "
        f"'{SAGEMAKER_PRINCIPAL}' to assume the role."
    )


def trust_allows(document: Mapping[str, Any], service: str, context: Mapping[str, str]) -> bool:
    """Whether the trust policy lets `service` (e.g. `sagemaker.amazonaws.com`) assume the role; an explicit deny
    wins; a condition the local AWS cannot evaluate denies (PolicyError is caught: the worse case)."""
    request = AuthorizationRequest(ASSUME_ROLE, "*", dict(context))
    statements = document.get("Statement", [])
    allowed = False
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = statement.get("Action", [])
        if not any(glob_matches(action, ASSUME_ROLE, case_sensitive=False) for action in _listed(actions)):
            continue
        if not _names_service(statement.get("Principal"), service):
            continue
        try:
            holds = all(condition_holds(op, block, request) for op, block in statement.get("Condition", {}).items())
        except PolicyError:
            holds = statement.get("Effect") == "Deny"
        if not holds:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def service_may_assume(role_arn: str, service: str, context: Mapping[str, str]) -> bool:
    """`trust_allows` on the role as the local IAM holds it (False when the role is missing); True when relaxed."""
    if not enforced("service-role-trust"):
        return True
    try:
        role = backends.iam().get_role(role_name(role_arn))
    except Exception:  # moto's NoSuchEntity: no role, no trust
        return False
    return trust_allows(parsed_document(role.assume_role_policy_document), service, context)


def _names_service(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return service in _listed(principal.get("Service", []))


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])
