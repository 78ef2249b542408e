"""moto's CloudFormation stacks, made strict: failed resources roll back, updates reach what depends on them.

moto answers a resource that fails to create with an error on CreateStack/UpdateStack itself and keeps
what it had made. CloudFormation accepts the call, fails the resource, and rolls back: a failed create
deletes everything (ROLLBACK_COMPLETE), a failed update restores the previous template
(UPDATE_ROLLBACK_COMPLETE). The CDK CLI then reports the resource's reason and exits non-zero.

Also closed here (rule ids in local_aws/rules.py):
- `cfn-previous-parameters`: on update, the CDK CLI passes `UsePreviousValue` for `BootstrapVersion`, an
  SSM-typed parameter moto never recorded at create time, and moto fails with a KeyError; an unrecorded
  previous value is now left out, so the template's default applies, as it did at create time.
- `cfn-update-dependents`: moto decides what an update modifies by comparing unresolved templates, so
  replacing the Model (a new artifact) does not reach the EndpointConfig whose resolved ModelName changes,
  nor the Endpoint after it. Resources that Ref or GetAtt a modified one are now modified too, in template
  order (CDK writes a resource after what it references).
- `cfn-remove-in-cleanup`: moto deletes the resources a new template removes before it updates anything else.
  CloudFormation deletes them in its cleanup phase, after every other resource is updated, and not at all when
  the update fails. So a scalable target removed with its variant is still registered when UpdateEndpoint
  removes the variant, and SageMaker refuses the update, as on AWS.
- `cfn-delete-failed`: deleting a stack whose bucket still holds objects (or any resource that cannot be
  deleted), moto drops the stack and silently leaves the bucket behind. CloudFormation fails the resource,
  deletes the rest, and leaves the stack in DELETE_FAILED until it is emptied and deleted again; so does
  this now, so `cdk destroy` without `python -m teardown` first fails here as it does on AWS.
- `cfn-cleanup-delete-failed`: a resource the cleanup phase cannot delete (a removed bucket still holding objects,
  a replaced resource) made moto's update raise. CloudFormation removes it from the stack, leaves it in place, adds
  a DELETE_FAILED event for it and ends UPDATE_COMPLETE "Update successful. One or more resources could not be
  deleted." (CloudFormation User Guide, Troubleshooting: "Resource removed from stack but not deleted";
  serverless#9144 shows the events; coverage-roadmap#744). It gives up after three attempts; here at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError as TemplateError
from moto.cloudformation.models import CloudFormationBackend, Event
from moto.cloudformation.models import Stack as FakeStack
from moto.core.exceptions import ServiceException, _RESTError

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.cloudformation.properties import PropertyValidationError, check_properties
from local_aws.strict.cloudformation.template import references
from local_aws.strict.originals import original

CLEANUP_ATTRIBUTE = "local_aws_cleanup"  # on moto's CloudFormation backend: the replaced resources to delete
REMOVED_ATTRIBUTE = "local_aws_removed"  # on a stack's resource map: resources the update removes, not yet deleted
_CLEANUP_LOCK = threading.Lock()  # the server is threaded: requests append and drain concurrently


class ResourceHandlerError(RuntimeError):
    """A resource that failed as a resource handler fails on AWS; CloudFormation reports it as the resource's."""


class ResourceFailedError(RuntimeError):
    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id, self.reason = logical_id, reason


# Replaced resources, deleted once the stack operation is done: CloudFormation creates the replacement,
# updates what depends on it, and deletes the old one in its cleanup phase (moto deletes it first, so an
# endpoint update that fails would have no old config left to keep serving).
def defer_cleanup(account_id: str, region_name: str, delete: Callable[[], None], physical_id: str = "") -> None:
    """Run `delete` (of the resource `physical_id`) once the stack operation in `account_id`/`region_name` is done."""
    backend = backends.cloudformation(account_id, region_name)
    with _CLEANUP_LOCK:
        queue: list[tuple[str, Callable[[], None]]] = backend.__dict__.setdefault(CLEANUP_ATTRIBUTE, [])
        queue.append((physical_id, delete))


def replaced_in_cleanup(resource_class: Any) -> Callable[..., Any]:
    """An update_from_cloudformation_json that creates the replacement and deletes the original in cleanup."""

    def update(
        original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        replacement = resource_class.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        old = original_resource.physical_resource_id
        defer_cleanup(
            account_id,
            region_name,
            lambda: resource_class.delete_from_cloudformation_json(old, cloudformation_json, account_id, region_name),
            str(old),
        )
        return replacement

    return update


def _clean_up_replaced(stack: FakeStack) -> bool:
    """Delete the replaced resources; False when one could not be (it is left behind, as CloudFormation leaves it)."""
    backend = backends.cloudformation(stack.account_id, stack.region_name)
    with _CLEANUP_LOCK:
        queue: list[tuple[str, Callable[[], None]]] = backend.__dict__.setdefault(CLEANUP_ATTRIBUTE, [])
        due, queue[:] = list(queue), []
    deleted = True
    for physical_id, delete in due:
        try:
            delete()
        except FAILURES as error:
            if not enforced("cfn-cleanup-delete-failed"):
                raise
            _delete_failed(stack, physical_id, physical_id, "", _reason(error))
            deleted = False
    return deleted


FAILURES = (ResourceHandlerError, ServiceException, _RESTError)
CLEANUP_FAILED = "Update successful. One or more resources could not be deleted."


def _delete_failed(stack: FakeStack, logical_id: str, physical_id: str, resource_type: str, reason: str) -> None:
    """A DELETE_FAILED event of the cleanup phase, before the UPDATE_COMPLETE moto has already recorded."""
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id,
        resource_type=resource_type,
        resource_status="DELETE_FAILED",
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.insert(max(len(stack.events) - 1, 0), event)


def _failing_as(operation: str) -> Callable[..., Any]:
    """Wrap moto's `parsing.<operation>` of one resource so a failure names its logical id."""

    def run(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        try:
            check_properties(resource_json, resources_map)
            return original(parsing, operation)(logical_id, resource_json, resources_map, account_id, region_name)
        except (*FAILURES, PropertyValidationError) as error:
            if isinstance(error, TemplateError) or not enforced("stack-rollback"):
                raise  # a template error is refused by CreateStack/UpdateStack itself, as on AWS
            raise ResourceFailedError(logical_id, _reason(error)) from error

    return run


parse_and_create_resource = _failing_as("parse_and_create_resource")
parse_and_update_resource = _failing_as("parse_and_update_resource")


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    return f'Resource handler returned message: "{message}"'


def create_resources(self: FakeStack) -> None:
    try:
        original(FakeStack, "create_resources")(self)
    except ResourceFailedError as failure:
        self._add_stack_event("CREATE_FAILED", resource_status_reason=f"{failure.logical_id}: {failure.reason}")
        self._add_stack_event(
            "ROLLBACK_IN_PROGRESS",
            resource_status_reason="The following resource(s) failed to create: "
            f"[{failure.logical_id}]. Rollback requested by user.",
        )
        self.resource_map.delete()
        # moto's resource map creates a resource when it is first looked up, so listing the rolled-back stack's
        # resources (teardown does, before destroy) would create them again, outside any stack: forget them.
        self.resource_map._resource_json_map = {}
        # A rolled-back stack has no outputs; an empty OutputMap (not a dict) so that deleting it reads no exports.
        self.output_map = parsing.OutputMap(self.resource_map, {"Outputs": {}}, self.stack_id)
        self.status = "ROLLBACK_COMPLETE"
        self._add_stack_event("ROLLBACK_COMPLETE")


def update(
    self: FakeStack,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    previous_template, previous_parameters = self.template, dict(self.resource_map.input_parameters or {})
    try:
        original(FakeStack, "update")(self, template, role_arn, parameters, tags)
        removed = _delete_removed(self.resource_map, self)
        if not (_clean_up_replaced(self) and removed) and self.events:
            self.events[-1].resource_status_reason = CLEANUP_FAILED  # the UPDATE_COMPLETE event
    except ResourceFailedError as failure:
        # The rollback replaces the replaced resources once more, from the previous template; the originals
        # are deleted with everything else after it, once the endpoint serves the rolled-back config. What the
        # failed template removed was never deleted: it is the stack's again.
        reason = f"The following resource(s) failed to update: [{failure.logical_id}]. {failure.reason}"
        self._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
        _restore_removed(self.resource_map)
        self.template = previous_template
        self._parse_template()
        self.resource_map.update(self.template_dict, previous_parameters)
        self.output_map = self._create_output_map()
        _delete_removed(self.resource_map)
        _clean_up_replaced(self)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def _held(resource_map: Any) -> dict[str, tuple[dict[str, Any], Any]]:
    held: dict[str, tuple[dict[str, Any], Any]] = resource_map.__dict__.setdefault(REMOVED_ATTRIBUTE, {})
    return held


def _hold_removed(resource_map: Any, template: dict[str, Any]) -> None:
    """Take what `template` removes out of moto's sight, undeleted, until the update is done."""
    removed = [name for name in resource_map._resource_json_map if name not in template["Resources"]]
    held = _held(resource_map)
    for name in removed:
        held[name] = (resource_map._resource_json_map[name], resource_map._parsed_resources.pop(name, None))
    resource_map._resource_json_map = {
        name: body for name, body in resource_map._resource_json_map.items() if name not in removed
    }


def _delete_removed(resource_map: Any, stack: FakeStack | None = None) -> bool:
    """The cleanup phase: the held resources are deleted now that the update succeeded. One that cannot be is left
    behind, out of the stack, with a DELETE_FAILED event (`cfn-cleanup-delete-failed`); False then."""
    held = _held(resource_map)
    due = list(held.items())
    held.clear()
    deleted = True
    for name, (body, parsed) in due:
        if parsed is None:
            continue
        try:
            resource_map._delete_resource(parsed, body)
        except FAILURES as error:
            if stack is None or not enforced("cfn-cleanup-delete-failed"):
                raise
            physical = str(getattr(parsed, "physical_resource_id", "") or "")
            _delete_failed(stack, name, physical, str(body.get("Type", "")), _reason(error))
            deleted = False
    return deleted


def _restore_removed(resource_map: Any) -> None:
    """The update failed: the held resources were never deleted, and belong to the stack again."""
    held = _held(resource_map)
    restored = dict(held)
    held.clear()
    resource_map._resource_json_map = {
        **resource_map._resource_json_map,
        **{name: body for name, (body, _) in restored.items()},
    }
    for name, (_, parsed) in restored.items():
        if parsed is not None:
            resource_map._parsed_resources[name] = parsed


def _depends_on(body: dict[str, Any]) -> set[str]:
    depends = body.get("DependsOn", [])
    return references(body) | ({depends} if isinstance(depends, str) else set(depends))


def _added_after_modified(self: Any, template: dict[str, Any], parameters: Any) -> set[str]:
    """New resources that depend on a modified one: CloudFormation creates them after it is updated, moto before
    (so a scalable target restored with a new instance type would be registered before the endpoint changed)."""
    diff = self.build_resource_diff(template, parameters)
    resources, later = template["Resources"], set[str]()
    waiting_on = set(diff["Modify"])
    changed = True
    while changed:
        found = {
            name for name in diff["Add"] if name not in later and _depends_on(resources[name]) & (waiting_on | later)
        }
        later |= found
        changed = bool(found)
    return later


def _without(template: dict[str, Any], names: set[str]) -> dict[str, Any]:
    resources = {k: v for k, v in template["Resources"].items() if k not in names}
    outputs = {k: v for k, v in template.get("Outputs", {}).items() if not references(v) & names}
    return {**template, "Resources": resources, "Outputs": outputs}


def _waiting_on(template: dict[str, Any], later: set[str]) -> set[str]:
    """Every resource that depends on one added later, directly or through others."""
    resources, waiting = template["Resources"], set(later)
    changed = True
    while changed:
        found = {name for name, body in resources.items() if name not in waiting and _depends_on(body) & waiting}
        waiting |= found
        changed = bool(found)
    return waiting - later


def _first_pass(self: Any, template: dict[str, Any], later: set[str]) -> dict[str, Any]:
    """The template without the resources added later; what depends on them, directly or not, keeps its previous
    body until then (a new shadow Model is created after the role policy it depends on, and the config that names it
    after it; an endpoint renamed beside a new bucket waits for the role policy that grants its new log group)."""
    first = _without(template, later)
    previous, waiting = self._resource_json_map, _waiting_on(template, later)
    resources = {
        name: previous[name] if name in previous and name in waiting else body
        for name, body in first["Resources"].items()
    }
    return {**first, "Resources": resources}


def resource_map_update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
    """Update in dependency order, and forget what the template removed: moto keeps a removed resource in its
    map, so adding the same logical id back later would not create it."""
    if enforced("cfn-remove-in-cleanup"):
        _hold_removed(self, template)
    later = _added_after_modified(self, template, parameters)
    if later:
        original(parsing.ResourceMap, "update")(self, _first_pass(self, template, later), parameters)
    original(parsing.ResourceMap, "update")(self, template, parameters)
    resources, declared = template.get("Resources", {}), template.get("Parameters", {})
    for name, parsed in list(self._parsed_resources.items()):
        if name not in resources and name not in declared and not isinstance(parsed, str | list | dict):
            self._parsed_resources.pop(name)


def resolve_update_parameters(self: Any, instance: Any, incoming_params: list[dict[str, str]]) -> dict[str, str]:
    """`UsePreviousValue` of a parameter never recorded is left out, so the template's default applies."""
    if not enforced("cfn-previous-parameters"):
        resolved: dict[str, str] = original(CloudFormationBackend, "_resolve_update_parameters")(
            self, instance, incoming_params
        )
        return resolved
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in incoming_params if "ParameterValue" in p}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue", False) and key in instance.parameters:
            parameters[key] = instance.parameters[key]
    return parameters


def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> dict[str, Any]:
    """moto's diff, plus every resource that references a modified one, in template order."""
    actions: dict[str, Any] = original(parsing.ResourceMap, "build_resource_diff")(self, other_template, parameters)
    if not enforced("cfn-update-dependents"):
        return actions
    resources = other_template["Resources"]
    modified = set(actions["Modify"])
    changed = True
    while changed:
        dependents = {
            name
            for name, body in resources.items()
            if name in self._parsed_resources and name not in modified and references(body) & modified
        }
        modified |= dependents
        changed = bool(dependents)
    actions["Modify"] = [name for name in resources if name in modified]
    return actions


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    """A resource CloudFormation cannot delete fails the delete, and the stack stays (DELETE_FAILED)."""
    stacks = dict(self.stacks)
    try:
        original(CloudFormationBackend, "delete_stack")(self, name_or_stack_id)
    except (ResourceHandlerError, ServiceException, _RESTError) as error:
        if not enforced("cfn-delete-failed"):
            raise
        for stack_id, stack in stacks.items():
            if stack_id not in self.stacks:  # the one moto popped before failing
                stack.status = "DELETE_FAILED"
                stack._add_stack_event("DELETE_FAILED", resource_status_reason=str(error))
                self.stacks[stack_id] = stack
