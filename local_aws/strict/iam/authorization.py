"""Authorize every call made with a role's credentials (from `python -m local_aws run --as ROLE`).

Calls signed with the local AWS's own dummy key act as the account's administrator, as before. Calls signed
with credentials sts:AssumeRole handed out are evaluated against that role's policies, with the real
resource ARN (SageMaker's in lower case) and the resource's tags as `aws:ResourceTag/*`. An action whose
resource this module does not know is evaluated against `*`, so only a policy granting `*` allows it: the
stricter reading, as AWS requires `*` for actions without resource-level permissions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, cast

from moto.core.exceptions import JsonRESTError, _RESTError
from moto.s3.exceptions import S3ClientError

from local_aws import backends
from local_aws.config import ACCOUNT_ID, REGION
from local_aws.rules import enforced
from local_aws.strict.iam.policy import AuthorizationRequest, ContextValue
from local_aws.strict.iam.principals import Verdict, assumed_role_arn, judge
from local_aws.strict.iam.s3_objects import dependent_requests

CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
S3_ACTIONS = {("GET", True): "GetObject", ("HEAD", True): "GetObject", ("PUT", True): "PutObject",
              ("DELETE", True): "DeleteObject", ("GET", False): "ListBucket", ("HEAD", False): "ListBucket",
              ("PUT", False): "CreateBucket", ("DELETE", False): "DeleteBucket"}  # fmt: skip
SAGEMAKER_RESOURCES = {
    "DescribeEndpoint": ("endpoint", "EndpointName"),
    "UpdateEndpoint": ("endpoint", "EndpointName"),
    "DeleteEndpoint": ("endpoint", "EndpointName"),
    "InvokeEndpoint": ("endpoint", "EndpointName"),
    "InvokeEndpointAsync": ("endpoint", "EndpointName"),
    "DescribeEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "DeleteEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "DescribeModel": ("model", "ModelName"),
    "DeleteModel": ("model", "ModelName"),
    "CreateTransformJob": ("transform-job", "TransformJobName"),
    "DescribeTransformJob": ("transform-job", "TransformJobName"),
    "StopTransformJob": ("transform-job", "TransformJobName"),
    "CreateTrainingJob": ("training-job", "TrainingJobName"),
    "DescribeTrainingJob": ("training-job", "TrainingJobName"),
    "StopTrainingJob": ("training-job", "TrainingJobName"),
    "CreateProcessingJob": ("processing-job", "ProcessingJobName"),
    "DescribeProcessingJob": ("processing-job", "ProcessingJobName"),
    "StopProcessingJob": ("processing-job", "ProcessingJobName"),
}
# Actions that hand SageMaker a role: the caller must be allowed iam:PassRole on it, for SageMaker (SageMaker's
# "Actions, resources, and condition keys": CreateProcessingJob's dependent action iam:PassRole; IAM user guide,
# "Grant a user permissions to pass a role to an AWS service", condition iam:PassedToService).
PASSES_ROLE = {"CreateProcessingJob": "RoleArn", "CreateTrainingJob": "RoleArn"}


class QueryAccessDeniedError(_RESTError):
    """`AccessDenied` as the query-protocol services (CloudFormation, STS, IAM) send it: HTTP 403."""

    code = 403


class S3AccessDeniedError(S3ClientError):
    """S3's `AccessDenied`, with the action and resource in the message as S3 now words it."""

    def __init__(self, message: str) -> None:
        super().__init__("AccessDenied", message)


def access_key_of(headers: Any) -> str | None:
    found = CREDENTIAL.search(headers.get("Authorization", "") or "")
    return found.group(1) if found else None


def authorize(access_key_id: str | None, request: AuthorizationRequest) -> Verdict:
    """Allowed for the administrator's key; otherwise the assumed role's verdict."""
    assumed = assumed_role_arn(access_key_id) if access_key_id else None
    if assumed is None or not enforced("iam-evaluation"):
        return Verdict(True, "")
    role_arn, session_arn = assumed
    return judge(role_arn, session_arn, request)


def sagemaker_request(action: str, params: dict[str, Any]) -> AuthorizationRequest:
    """The ARN and tags a SageMaker action is authorized on (names lower case in the ARN, as on AWS)."""
    kind_and_key = SAGEMAKER_RESOURCES.get(action)
    if kind_and_key is None or not params.get(kind_and_key[1]):
        return AuthorizationRequest(f"sagemaker:{action}", "*")
    kind, key = kind_and_key
    name = str(params[key])
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{kind}/{name.lower()}"
    return AuthorizationRequest(f"sagemaker:{action}", arn, _sagemaker_tags(kind, name))


def _sagemaker_tags(kind: str, name: str) -> dict[str, ContextValue]:
    if not enforced("iam-condition-keys") or kind not in backends.SAGEMAKER_COLLECTIONS:
        return {}
    resource = backends.find_sagemaker(backends.sagemaker(), kind, name)
    tags = getattr(resource, "tags", None) or []
    return {f"aws:ResourceTag/{tag['Key']}": str(tag["Value"]) for tag in tags}


def _cloudformation_request(action: str, params: dict[str, Any]) -> AuthorizationRequest:
    name = params.get("StackName")
    if not name:
        return AuthorizationRequest(f"cloudformation:{action}", "*")
    stacks = backends.cloudformation().stacks.values()
    stack = next((s for s in stacks if name in (s.name, s.stack_id)), None)
    stack_id = stack.stack_id if stack else f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/*"
    return AuthorizationRequest(f"cloudformation:{action}", stack_id)


def _sts_request(action: str, params: dict[str, Any]) -> AuthorizationRequest:
    """sts:AssumeRole is authorized on the role, whose tags are `iam:ResourceTag/*` (as the CDK's grants use)."""
    role_arn = params.get("RoleArn")
    if action != "AssumeRole" or not role_arn:
        return AuthorizationRequest(f"sts:{action}", "*")
    try:
        role = backends.iam().get_role(str(role_arn).rsplit("/", 1)[-1])
    except Exception:  # moto's NoSuchEntity: no tags to offer, the ARN is still evaluated
        return AuthorizationRequest("sts:AssumeRole", str(role_arn))
    stored = cast("dict[str, dict[str, str]]", role.tags)  # moto keeps {lower-case key: {Key, Value}}
    tags: dict[str, ContextValue] = {f"iam:ResourceTag/{tag['Key']}": tag["Value"] for tag in stored.values()}
    return AuthorizationRequest("sts:AssumeRole", str(role_arn), tags)


def _sns_request(action: str, params: dict[str, Any]) -> AuthorizationRequest:
    """SNS authorizes an action on its topic (`sns:Publish` on the TopicArn the call names)."""
    topic = params.get("TopicArn")
    return AuthorizationRequest(f"sns:{action}", str(topic) if topic else "*")


def _params(response: Any) -> dict[str, Any]:
    if "json" in (response.headers.get("Content-Type") or ""):
        try:
            loaded = json.loads(response.body or "{}")
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {key: values[0] for key, values in response.querystring.items() if values}


def _request_of(response: Any, resource: str, s3: bool) -> AuthorizationRequest:
    if s3:
        is_object = resource.count("/") >= 1 and not resource.endswith("/None")
        action = f"s3:{S3_ACTIONS.get((response.method, is_object), 'ListBucket')}"
        prefix = (getattr(response, "querystring", None) or {}).get("prefix") if action == "s3:ListBucket" else None
        return AuthorizationRequest(action, resource, {"s3:prefix": prefix[0]} if prefix else {})
    action, params = response._get_action(), _params(response)
    builders: dict[str, Callable[[str, dict[str, Any]], AuthorizationRequest]] = {
        "sagemaker": sagemaker_request,
        "cloudformation": _cloudformation_request,
        "sts": _sts_request,
        "sns": _sns_request,
    }
    builder = builders.get(response.service_name)
    if response.service_name == "cloudwatch" and action == "PutMetricData":
        # Authorized on `*`, with the namespace as the condition key cloudwatch:namespace (CloudWatch's
        # "Actions, resources, and condition keys").
        return AuthorizationRequest(
            "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": response._get_param("Namespace")}
        )
    return builder(action, params) if builder else AuthorizationRequest(f"{response.service_name}:{action}", "*")


def passed_roles(response: Any) -> list[AuthorizationRequest]:
    """iam:PassRole on the role a SageMaker call hands over (`pass-role`)."""
    if response.service_name != "sagemaker" or not enforced("pass-role"):
        return []
    key = PASSES_ROLE.get(response._get_action())
    role = _params(response).get(key) if key else None
    context: dict[str, ContextValue] = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    return [AuthorizationRequest("iam:PassRole", str(role), context)] if role else []


def authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    """moto's hook before every action: calls made with an assumed role's credentials are authorized."""
    access_key = access_key_of(self.headers)
    if access_key is None or assumed_role_arn(access_key) is None:
        return
    s3 = iam_request_cls.__name__ == "S3IAMRequest"
    verdict = authorize(access_key, _request_of(self, resource, s3))
    dependents = dependent_requests(self.method, resource, self.headers) if s3 else passed_roles(self)
    if verdict.allowed:
        for dependent in dependents:
            verdict = authorize(access_key, dependent)
            if not verdict.allowed:
                break
    if verdict.allowed:
        return
    if s3:
        raise S3AccessDeniedError(verdict.message)
    if "json" in (self.headers.get("Content-Type") or ""):
        raise JsonRESTError("AccessDeniedException", verdict.message)
    raise QueryAccessDeniedError("AccessDenied", verdict.message)
