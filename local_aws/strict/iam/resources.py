"""AWS::IAM::ManagedPolicy in CloudFormation: moto 5.2 can neither update nor delete one.

- `cfn-managed-policy-delete`: with no delete, the policy stays attached and the Role it is attached to can
  never be deleted: `cdk destroy` fails. The policy is now detached and deleted, as CloudFormation does.
- `cfn-managed-policy-update`: with no update, after an update that changes the policy (any new artifact
  does) moto forgets the resource, and its delete cannot reach it. The old policy is now deleted and the new
  one created.
"""

from __future__ import annotations

from typing import Any

from moto.iam.models import ManagedPolicy

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.originals import original


def delete_managed_policy(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    if not enforced("cfn-managed-policy-delete"):
        original(ManagedPolicy, "delete_from_cloudformation_json")(
            resource_name, cloudformation_json, account_id, region_name
        )
        return
    backend = backends.iam(account_id, region_name)
    policy_arn = resource_name  # the physical id of a managed policy is its ARN
    for role in list(backend.roles.values()):
        if policy_arn in role.managed_policies:
            backend.detach_role_policy(policy_arn, role.name)
    backend.delete_policy(policy_arn)


def replace_managed_policy(
    original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> Any:
    if not enforced("cfn-managed-policy-update"):
        return original(ManagedPolicy, "update_from_cloudformation_json")(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
    delete_managed_policy(original_resource.arn, cloudformation_json, account_id, region_name)
    return ManagedPolicy.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )
