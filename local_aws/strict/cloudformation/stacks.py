"""moto's CloudFormation, made strict: SageMaker names as AWS generates them, failed resources roll back.

moto answers a resource that fails to create with an error on CreateStack/UpdateStack itself and keeps
what it had made. CloudFormation accepts the call, fails the resource, and rolls back: a failed create
deletes everything (ROLLBACK_COMPLETE), a failed update restores the previous template
(UPDATE_ROLLBACK_COMPLETE). The CDK CLI then reports the resource's reason and exits non-zero.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError as TemplateError
from moto.cloudformation.models import Stack as FakeStack
from moto.core.exceptions import ServiceException, _RESTError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, Model, sagemaker_backends

from local_aws.rules import enforced
from local_aws.strict.cloudformation.template import references
from local_aws.strict.sagemaker import lifecycle
from local_aws.strict.sagemaker.backend import EndpointFailedError, create_endpoint, update_endpoint

SAGEMAKER_NAMED_BY_LOGICAL_ID = frozenset({"AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"})
SUFFIX_LENGTH = 12
SETTLE_TIMEOUT_S = 900.0  # bounds CloudFormation's wait for the endpoint, whatever the delays are set to
SAGEMAKER_NAME_LIMIT = 63


class ResourceFailedError(RuntimeError):
    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id, self.reason = logical_id, reason


def sagemaker_generated_name(logical_id: str) -> str:
    """`Model-pR9dIu4ZjVhk`: the logical id and 12 random characters, no stack prefix (aws-cli#4021)."""
    suffix = "".join(random.choices(string.ascii_letters + string.digits, k=SUFFIX_LENGTH))
    return f"{logical_id[: SAGEMAKER_NAME_LIMIT - SUFFIX_LENGTH - 1]}-{suffix}"


_original_generate_resource_name = parsing.generate_resource_name


def _generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    if resource_type in SAGEMAKER_NAMED_BY_LOGICAL_ID and enforced("cfn-sagemaker-names"):
        return sagemaker_generated_name(logical_id)
    name: str = _original_generate_resource_name(resource_type, stack_name, logical_id)
    return name


def _create_endpoint(
    resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> FakeEndpoint:
    properties = cloudformation_json["Properties"]
    backend = sagemaker_backends[account_id][region_name]
    endpoint = create_endpoint(
        backend,
        endpoint_name=resource_name,
        endpoint_config_name=properties["EndpointConfigName"],
        tags=properties.get("Tags", []),
        deployment_config=properties.get("DeploymentConfig"),
    )
    lifecycle.settle(endpoint, SETTLE_TIMEOUT_S)  # CloudFormation waits for InService
    if endpoint.endpoint_status == "Failed":
        reason = endpoint.failure_reason
        backend.delete_endpoint(resource_name)  # what the rollback would delete
        raise EndpointFailedError(f"Endpoint {resource_name} failed: {reason}")
    return endpoint


def _update_endpoint(
    original_resource: FakeEndpoint,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> FakeEndpoint:
    """UpdateEndpoint in place (moto deletes and recreates), with the template's retention settings."""
    properties = cloudformation_json["Properties"]
    name = properties.get("EndpointName", original_resource.endpoint_name)
    if name != original_resource.endpoint_name:  # a new name replaces the endpoint
        FakeEndpoint.delete_from_cloudformation_json(
            original_resource.arn, cloudformation_json, account_id, region_name
        )
        return _create_endpoint(name, cloudformation_json, account_id, region_name)
    endpoint = update_endpoint(
        sagemaker_backends[account_id][region_name],
        endpoint_name=name,
        endpoint_config_name=properties["EndpointConfigName"],
        retain_all_variant_properties=str(properties.get("RetainAllVariantProperties", False)).lower() == "true",
        exclude_retained_variant_properties=properties.get("ExcludeRetainedVariantProperties"),
        deployment_config=properties.get("DeploymentConfig"),
    )
    lifecycle.settle(endpoint, SETTLE_TIMEOUT_S)
    if endpoint.failure_reason:
        raise EndpointFailedError(f"Endpoint {name} update failed and was rolled back: {endpoint.failure_reason}")
    return endpoint


# Replaced resources, deleted once the stack operation is done: CloudFormation creates the replacement,
# updates what depends on it, and deletes the old one in its cleanup phase (moto deletes it first, so an
# endpoint update that fails would have no old config left to keep serving).
_REPLACED: list[Callable[[], None]] = []


def _replaced_in_cleanup(resource_class: Any) -> Any:
    def update(
        original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        replacement = resource_class.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        old = original_resource.physical_resource_id
        _REPLACED.append(
            lambda: resource_class.delete_from_cloudformation_json(old, cloudformation_json, account_id, region_name)
        )
        return replacement

    return staticmethod(update)


def _clean_up_replaced() -> None:
    while _REPLACED:
        _REPLACED.pop(0)()


FAILURES = (EndpointFailedError, ServiceException, _RESTError)


def _failing_as(operation: Any) -> Any:
    """Wrap moto's create/update of one resource so a failure names its logical id."""

    def run(logical_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(logical_id, *args, **kwargs)
        except FAILURES as error:
            if isinstance(error, TemplateError) or not enforced("stack-rollback"):
                raise  # a template error is refused by CreateStack/UpdateStack itself, as on AWS
            raise ResourceFailedError(logical_id, _reason(error)) from error

    return run


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    return f'Resource handler returned message: "{message}"'


_original_create_resources = FakeStack.create_resources
_original_update = FakeStack.update


def _create_resources(self: FakeStack) -> None:
    try:
        _original_create_resources(self)
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
        self.output_map = {}  # type: ignore[assignment]  # a rolled-back stack has no outputs
        self.status = "ROLLBACK_COMPLETE"
        self._add_stack_event("ROLLBACK_COMPLETE")


def _update(self: FakeStack, template: str, *args: Any, **kwargs: Any) -> None:
    previous_template, previous_parameters = self.template, dict(self.resource_map.input_parameters or {})
    try:
        _original_update(self, template, *args, **kwargs)
        _clean_up_replaced()
    except ResourceFailedError as failure:
        # The rollback replaces the replaced resources once more, from the previous template; the originals
        # are deleted with everything else after it, once the endpoint serves the rolled-back config.
        reason = f"The following resource(s) failed to update: [{failure.logical_id}]. {failure.reason}"
        self._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
        self.template = previous_template
        self._parse_template()
        self.resource_map.update(self.template_dict, previous_parameters)
        self.output_map = self._create_output_map()
        _clean_up_replaced()
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


_original_resource_map_update = parsing.ResourceMap.update


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


def _first_pass(self: Any, template: dict[str, Any], later: set[str]) -> dict[str, Any]:
    """The template without the resources added later; what references them keeps its previous body until then
    (a new shadow Model is created after the role policy it depends on, and the config that names it after it)."""
    first = _without(template, later)
    previous = self._resource_json_map
    resources = {
        name: previous[name] if name in previous and _depends_on(body) & later else body
        for name, body in first["Resources"].items()
    }
    return {**first, "Resources": resources}


def _resource_map_update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
    """Update in dependency order, and forget what the template removed: moto keeps a removed resource in its
    map, so adding the same logical id back later would not create it."""
    later = _added_after_modified(self, template, parameters)
    if later:
        _original_resource_map_update(self, _first_pass(self, template, later), parameters)
    _original_resource_map_update(self, template, parameters)
    resources, declared = template.get("Resources", {}), template.get("Parameters", {})
    for name, parsed in list(self._parsed_resources.items()):
        if name not in resources and name not in declared and not isinstance(parsed, str | list | dict):
            self._parsed_resources.pop(name)


def patch_cloudformation() -> None:
    parsing.generate_resource_name = _generate_resource_name
    parsing.parse_and_create_resource = _failing_as(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _failing_as(parsing.parse_and_update_resource)
    for replaced in (Model, FakeEndpointConfig):
        replaced.update_from_cloudformation_json = _replaced_in_cleanup(replaced)  # type: ignore[method-assign]
    FakeEndpoint.create_from_cloudformation_json = staticmethod(_create_endpoint)  # type: ignore[method-assign]
    FakeEndpoint.update_from_cloudformation_json = staticmethod(_update_endpoint)  # type: ignore[method-assign]
    parsing.ResourceMap.update = _resource_map_update  # type: ignore[method-assign]
    FakeStack.create_resources = _create_resources  # type: ignore[method-assign]
    FakeStack.update = _update  # type: ignore[method-assign]
