"""Change sets as CloudFormation runs them: `cdk deploy`'s default method, on the local AWS.

moto 5.2 executes a change set by updating the resource map only: a new stack gets no outputs, no failure
rolls back, and DescribeChangeSet lists changes without `Replacement`. Here a CREATE change set creates
the stack as CreateStack does and an UPDATE one updates it as UpdateStack does (both with this package's
rollback), and each change carries `Replacement` as CloudFormation computes it for the resource types this
project deploys: `True` when a changed property requires replacement (resource reference, "Update requires:
Replacement"), `Conditional` when a property that would require it points at a resource being replaced or
modified (its value is only known when that resource is updated), else `False`. Not modelled: `Details`,
nested stacks, imports, and types outside the table (reported `Conditional`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.core.exceptions import _RESTError

from local_aws.rules import enforced
from local_aws.strict.cloudformation.template import references
from local_aws.strict.originals import original

SSM_TYPE = "AWS::SSM::Parameter::Value"
EVERY_PROPERTY = frozenset({"*"})
# Properties whose change replaces the resource, per the CloudFormation resource reference.
REPLACING = {
    "AWS::SageMaker::Model": EVERY_PROPERTY,
    "AWS::SageMaker::EndpointConfig": EVERY_PROPERTY,
    "AWS::SageMaker::Endpoint": frozenset({"EndpointName"}),
    "AWS::IAM::Role": frozenset({"RoleName", "Path"}),
    "AWS::IAM::ManagedPolicy": frozenset({"ManagedPolicyName", "Path", "Description"}),
    "AWS::IAM::Policy": frozenset(),
    "AWS::S3::Bucket": frozenset({"BucketName", "ObjectLockEnabled"}),
    "AWS::S3::BucketPolicy": frozenset({"Bucket"}),
    "AWS::KMS::Key": frozenset(),
    "AWS::KMS::Alias": frozenset({"AliasName"}),
    "AWS::Logs::LogGroup": frozenset({"LogGroupName"}),
    "AWS::CloudWatch::Alarm": frozenset({"AlarmName"}),
    "AWS::ApplicationAutoScaling::ScalableTarget": frozenset({"ResourceId", "ScalableDimension", "ServiceNamespace"}),
    "AWS::ApplicationAutoScaling::ScalingPolicy": frozenset(
        {"PolicyName", "ResourceId", "ScalableDimension", "ScalingTargetId", "ServiceNamespace"}
    ),
    "AWS::CDK::Metadata": frozenset(),
}


@dataclass(frozen=True)
class ResourceChange:
    """DescribeChangeSet's `ResourceChange` (moto wraps it in `Changes[].ResourceChange` and serializes
    attributes by their snake_case names)."""

    action: str
    logical_resource_id: str
    resource_type: str
    replacement: str | None  # only Modify changes carry one

    @property
    def scope(self) -> list[str] | None:
        return ["Properties"] if self.replacement is not None else None


def replacement(resource_type: str, old: dict[str, Any], new: dict[str, Any], changing: set[str]) -> str:
    """`True`, `Conditional` or `False` for a modified resource; `changing`: logical ids modified or replaced."""
    replacing = REPLACING.get(resource_type)
    if replacing is None:
        return "Conditional"
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    keys = set(old_properties) | set(new_properties)
    changed = {key for key in keys if old_properties.get(key) != new_properties.get(key)}
    if (replacing is EVERY_PROPERTY and changed) or changed & replacing:
        return "True"
    dynamic = {key for key in keys if references(new_properties.get(key)) & changing}
    if (replacing is EVERY_PROPERTY and dynamic) or dynamic & replacing:
        return "Conditional"
    return "False"


def diff(self: ChangeSet) -> Any:
    if not enforced("cfn-change-sets"):
        return original(ChangeSet, "diff")(self)
    actions = self.stack.resource_map.build_change_set_actions(self.template_dict)
    current = self.stack.template_dict.get("Resources", {}) if self.stack.template_dict else {}
    new = self.template_dict.get("Resources", {})
    changing = set(actions["Modify"]) | set(actions["Add"])
    changes = []
    for action, resources in actions.items():
        for name, described in resources.items():
            kind = described["ResourceType"]
            replaced = replacement(kind, current.get(name, {}), new[name], changing) if action == "Modify" else None
            changes.append(ResourceChange(action, name, kind, replaced))
    return changes


def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    if not enforced("cfn-change-sets"):
        original(CloudFormationBackend, "execute_change_set")(self, change_set_name, stack_name)
        return
    change_set = self.describe_change_set(change_set_name)
    if change_set is None or change_set.execution_status != "AVAILABLE":
        raise ValidationError(stack_name, message=f"ChangeSet [{change_set_name}] cannot be executed in its state")
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        created = Stack(  # type: ignore[abstract]
            stack_id=stack.stack_id,
            name=stack.name,
            template=change_set.template,
            parameters=change_set.parameters,
            account_id=self.account_id,
            region_name=self.region_name,
            notification_arns=change_set.notification_arns,
            tags=change_set.tags,
            role_arn=change_set.role_arn,
        )
        created.events = stack.events
        self.stacks[stack.stack_id] = created
        created._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        created.create_resources()  # with rollback on failure
    else:
        parameters = _without_previous_ssm_values(stack, change_set)
        stack.update(change_set.template, change_set.role_arn, parameters=parameters, tags=change_set.tags)
    change_set.execution_status = "EXECUTE_COMPLETE"


def _without_previous_ssm_values(stack: Stack, change_set: ChangeSet) -> dict[str, str]:
    """moto's CreateChangeSet turns `UsePreviousValue` of an SSM-typed parameter (the CDK's BootstrapVersion)
    into the value it resolved to, which moto would then look up as a parameter name; left out, the template's
    default (the SSM parameter's name) resolves again, as on AWS (rule cfn-previous-parameters for UpdateStack)."""
    declared = change_set.template_dict.get("Parameters", {})
    previous = stack.stack_parameters
    return {
        key: value
        for key, value in change_set.parameters.items()
        if not (str(declared.get(key, {}).get("Type", "")).startswith(SSM_TYPE) and previous.get(key) == value)
    }


class ChangeSetNotFoundError(_RESTError):
    """AWS's answer for a change set that does not exist (`ChangeSetNotFound`, HTTP 404); the CDK CLI waits on
    it after deleting its previous change set. moto answers ValidationError."""

    code = 404


def describe_change_set(self: CloudFormationBackend, change_set_name: str) -> ChangeSet | None:
    describe = original(CloudFormationBackend, "describe_change_set")
    try:
        found: ChangeSet | None = describe(self, change_set_name)
    except ValidationError as error:
        if not enforced("cfn-change-sets"):
            raise
        raise ChangeSetNotFoundError("ChangeSetNotFound", f"ChangeSet [{change_set_name}] does not exist") from error
    return found


def delete_change_set(self: CloudFormationBackend, change_set_name: str) -> None:
    """Succeeds for a change set that does not exist, as AWS does (the CDK CLI relies on it before each
    deploy); moto fails with an UnboundLocalError."""
    if not enforced("cfn-change-sets"):
        original(CloudFormationBackend, "delete_change_set")(self, change_set_name)
        return
    for change_set_id, change_set in list(self.change_sets.items()):
        if change_set_name in (change_set_id, change_set.change_set_name):
            del self.change_sets[change_set_id]
