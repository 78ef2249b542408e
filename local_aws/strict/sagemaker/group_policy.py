"""Model package group resource policies, which moto 5.2 lacks: how a shared registry account lets deploy accounts
read a group's packages (PutModelPackageGroupPolicy, GetModelPackageGroupPolicy, DeleteModelPackageGroupPolicy).

The API reference gives only the shapes (a policy string of 1 to 20,480 characters for a named group); the worse
case is modelled: a policy that is not an IAM policy document (JSON with a Statement list) is refused, as IAM
refuses one for any resource policy, and so is a group that does not exist or has no policy to get or delete.
The policy is stored, not evaluated: the local AWS has one account.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

from local_aws.rules import enforced

RULE = "model-package-group-policy"
_POLICIES: dict[str, str] = {}  # group ARN -> its policy as put (the group's own moto object has no place for it)


def _group_arn(response: SageMakerResponse) -> str:
    name = response._get_param("ModelPackageGroupName")
    group = response.sagemaker_backend.model_package_groups.get(name)
    if group is None:
        raise ValidationError(message=f"ModelPackageGroup {name} does not exist.")
    arn: str = group.arn
    return arn


def _check_policy(policy: str) -> None:
    if not enforced(RULE):
        return
    try:
        document = json.loads(policy)
    except json.JSONDecodeError as error:
        raise ValidationError(message=f"The resource policy is not valid JSON: {error.msg}.") from error
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list) or not document["Statement"]:
        raise ValidationError(message="The resource policy must be a policy document with a Statement list.")


def put_model_package_group_policy_response(self: SageMakerResponse) -> Any:
    arn = _group_arn(self)
    policy = self._get_param("ResourcePolicy")
    _check_policy(policy)
    _POLICIES[arn] = policy
    return ActionResult({"ModelPackageGroupArn": arn})


def get_model_package_group_policy_response(self: SageMakerResponse) -> Any:
    arn = _group_arn(self)
    if arn not in _POLICIES:
        raise ValidationError(message=f"ModelPackageGroup {arn} has no resource policy.")
    return ActionResult({"ResourcePolicy": _POLICIES[arn]})


def delete_model_package_group_policy_response(self: SageMakerResponse) -> Any:
    arn = _group_arn(self)
    if _POLICIES.pop(arn, None) is None:
        raise ValidationError(message=f"ModelPackageGroup {arn} has no resource policy.")
    return EmptyResult()
