"""moto's SageMaker, made strict: request validation, lower-case ARNs, UpdateEndpoint, fleet health.

moto 5.2 has no UpdateEndpoint at all (its CloudFormation update deletes and recreates the endpoint, so
nothing is retained and nothing is checked), creates every endpoint `InService`, accepts any KmsKeyId, and
validates instance types against an old list of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter as moto_arn_formatter

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.cloudformation.stacks import ResourceHandlerError
from local_aws.strict.originals import original
from local_aws.strict.sagemaker import lifecycle
from local_aws.strict.sagemaker.provisioning import Fleet, failure_reason
from local_aws.strict.sagemaker.validation import (
    SageMakerValidationError,
    check_deployment_config,
    check_endpoint_config,
    check_shadow_variants,
)

LOWER_CASE_ARN_TYPES = frozenset({"model", "endpoint-config", "endpoint"})
SAGEMAKER_VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class EndpointFailedError(ResourceHandlerError):
    """The fleet did not come up; CloudFormation fails the resource with this reason."""


def arn_formatter(_type: str, _id: str, account_id: str, region_name: str) -> str:
    """moto's, with model, endpoint-config and endpoint names in lower case; moto passes `_type=`/`_id=` by
    keyword in places, so the parameters keep moto's names."""
    if _type in LOWER_CASE_ARN_TYPES and enforced("sagemaker-arn-lower-case"):
        _id = _id.lower()
    return moto_arn_formatter(_type, _id, account_id, region_name)


def _validated(check: Any, *args: Any) -> None:
    try:
        check(*args)
    except SageMakerValidationError as error:
        raise ValidationError(message=str(error)) from error


def create_endpoint_config(  # noqa: PLR0917  # moto's parameters, by moto's names
    self: SageMakerModelBackend,
    endpoint_config_name: str,
    production_variants: list[dict[str, Any]],
    data_capture_config: dict[str, Any],
    async_inference_config: dict[str, Any],
    tags: list[dict[str, str]],
    kms_key_id: str,
    shadow_production_variants: list[dict[str, Any]] | None = None,
) -> FakeEndpointConfig:
    """moto's, plus ShadowProductionVariants (moto drops them): validated like production variants, and kept."""
    variants, shadows = production_variants, shadow_production_variants or []
    exists = self._models.__contains__
    _validated(check_shadow_variants, variants, shadows)
    every = [*variants, *shadows]
    _validated(check_endpoint_config, every, kms_key_id, data_capture_config, exists)
    config: FakeEndpointConfig = original(SageMakerModelBackend, "create_endpoint_config")(
        self,
        endpoint_config_name=endpoint_config_name,
        production_variants=production_variants,
        data_capture_config=data_capture_config,
        async_inference_config=async_inference_config,
        tags=tags,
        kms_key_id=kms_key_id,
    )
    config.shadow_production_variants = shadows or None  # type: ignore[attr-defined]  # None: not described
    return config


def create_endpoint_config_response(self: SageMakerResponse) -> Any:
    config = create_endpoint_config(
        self.sagemaker_backend,
        endpoint_config_name=self._get_param("EndpointConfigName"),
        async_inference_config=self._get_param("AsyncInferenceConfig"),
        production_variants=self._get_param("ProductionVariants"),
        shadow_production_variants=self._get_param("ShadowProductionVariants"),
        data_capture_config=self._get_param("DataCaptureConfig"),
        tags=self._get_param("Tags"),
        kms_key_id=self._get_param("KmsKeyId"),
    )
    return ActionResult({"EndpointConfigArn": config.endpoint_config_arn})


def validate_instance_type(self: FakeEndpointConfig, instance_type: str) -> None:
    """moto's own (outdated) instance-type list is replaced by botocore's, checked above."""


def create_endpoint(
    backend: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    tags: list[dict[str, str]],
    deployment_config: dict[str, Any] | None = None,
) -> FakeEndpoint:
    """CreateEndpoint; a fleet that cannot come up makes the endpoint `Failed`, with SageMaker's reason."""
    config = _endpoint_config(backend, endpoint_config_name)
    _validated(check_deployment_config, deployment_config, _serverless(config))
    endpoint = FakeEndpoint(  # type: ignore[abstract]
        account_id=backend.account_id,
        region_name=backend.region_name,
        endpoint_name=endpoint_name,
        endpoint_config_name=endpoint_config_name,
        production_variants=config.production_variants,
        data_capture_config=config.data_capture_config,
        tags=tags,
    )
    reason = failure_reason(Fleet(endpoint_name, ()), every_variant(config), backend._models)

    def provisioned() -> None:
        endpoint.failure_reason = reason  # type: ignore[assignment]

    due = time.monotonic() + lifecycle.provision_seconds()
    final = "InService" if reason is None else "Failed"
    lifecycle.schedule(endpoint, "Creating", lifecycle.Transition(due, provisioned, final_status=final))
    lifecycle.advance(endpoint)
    backend.endpoints[endpoint_name] = endpoint
    return endpoint


def every_variant(config: FakeEndpointConfig) -> list[dict[str, Any]]:
    """Production and shadow variants: a shadow's model must load too, or the endpoint fails."""
    return [*config.production_variants, *(getattr(config, "shadow_production_variants", None) or [])]


def _endpoint_config(backend: SageMakerModelBackend, name: str) -> FakeEndpointConfig:
    config: FakeEndpointConfig | None = backend.endpoint_configs.get(name)
    if config is None:
        arn = arn_formatter("endpoint-config", name, backend.account_id, backend.region_name)
        raise ValidationError(message=f'Could not find endpoint configuration "{arn}".')
    return config


def _serverless(config: FakeEndpointConfig) -> bool:
    return any("ServerlessConfig" in variant for variant in config.production_variants)


def update_endpoint(
    backend: SageMakerModelBackend,
    *,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
    deployment_config: dict[str, Any] | None = None,
) -> FakeEndpoint:
    """UpdateEndpoint; a fleet that does not come up leaves the old config serving, with a FailureReason."""
    endpoint: FakeEndpoint | None = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = arn_formatter("endpoint", endpoint_name, backend.account_id, backend.region_name)
        raise ValidationError(message=f'Could not find endpoint "{arn}".')
    lifecycle.advance(endpoint)
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f"Cannot update endpoint {endpoint_name} in status {endpoint.endpoint_status}.")
    config = _endpoint_config(backend, endpoint_config_name)
    fleet = sum(int(v.get("CurrentInstanceCount") or 0) for v in endpoint.production_variants)
    _validated(check_deployment_config, deployment_config, _serverless(config), fleet)
    serving = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    if serving is not None:
        _refuse_in_place_changes(endpoint_name, serving, config, deployment_config)
    _refuse_autoscaled_changes(backend, endpoint, config)
    alarms = tuple(
        a["AlarmName"] for a in (deployment_config or {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])
    )
    reason = failure_reason(Fleet(endpoint_name, alarms), every_variant(config), backend._models)
    endpoint.last_modified_time = datetime.now(UTC)
    retention = _Retention(retain_all_variant_properties, exclude_retained_variant_properties)

    def finished() -> None:
        if reason is not None:  # the new fleet never came up: the old config keeps serving
            endpoint.failure_reason = reason  # type: ignore[assignment]
        else:
            _apply(endpoint, config, retention)

    blue_green = bool((deployment_config or {}).get("BlueGreenUpdatePolicy"))
    bake = lifecycle.bake_seconds() if blue_green and reason is None else lifecycle.provision_seconds()
    transition = lifecycle.Transition(time.monotonic() + bake, finished, alarms=alarms)
    lifecycle.schedule(endpoint, "Updating", transition)
    lifecycle.advance(endpoint)
    return endpoint


@dataclass(frozen=True)
class _Retention:
    retain_all: bool
    excluded: list[dict[str, str]] | None


def _apply(endpoint: FakeEndpoint, config: FakeEndpointConfig, retention: _Retention) -> None:
    """The update is done: the new config serves, with the variant properties UpdateEndpoint keeps."""
    excluded = {p["VariantPropertyType"] for p in retention.excluded or []}
    retained = retention.retain_all and enforced("retain-variant-properties")
    new_variants = endpoint._process_production_variants(config.production_variants)
    if retained or not enforced("retain-variant-properties"):
        new_variants = [_retain(endpoint, variant, excluded) for variant in new_variants]
    endpoint.endpoint_config_name = config.endpoint_config_name
    endpoint.production_variants = new_variants
    if not retained or "DataCaptureConfig" in excluded:
        endpoint.data_capture_config = config.data_capture_config
    endpoint.failure_reason = None


def _retain(endpoint: FakeEndpoint, variant: dict[str, Any], excluded: set[str]) -> dict[str, Any]:
    """Keep the running count and weight of a variant of the same name, except the excluded properties."""
    current = next((v for v in endpoint.production_variants if v["VariantName"] == variant["VariantName"]), None)
    if current is None:
        return variant
    kept = dict(variant)
    for prefix, desired in (("InstanceCount", "DesiredInstanceCount"), ("Weight", "DesiredWeight")):
        if desired not in excluded and f"Current{prefix}" in current:
            kept[f"Current{prefix}"], kept[desired] = current[f"Current{prefix}"], current.get(desired)
    return kept


def _refuse_autoscaled_changes(
    backend: SageMakerModelBackend, endpoint: FakeEndpoint, config: FakeEndpointConfig
) -> None:
    """Docs, "Update endpoints that use auto scaling": an update that changes the instance type of, or removes, a
    variant registered as a scalable target fails; deregister it first."""
    autoscaling = backends.autoscaling(backend.account_id, backend.region_name)
    targets = autoscaling.targets.get(SAGEMAKER_VARIANT_DIMENSION, {})
    serving = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    old_types = {v["VariantName"]: v.get("InstanceType") for v in serving.production_variants} if serving else {}
    new_types = {v["VariantName"]: v.get("InstanceType") for v in config.production_variants}
    for name, old_type in old_types.items():
        if f"endpoint/{endpoint.endpoint_name}/variant/{name}" not in targets:
            continue
        if name not in new_types and enforced("autoscaled-variant-removal"):
            raise ValidationError(
                message=f"The update would remove variant {name}, which is registered as an Application Auto "
                "Scaling target. Deregister the scalable target, then update the endpoint."
            )
        if name in new_types and old_type != new_types[name] and enforced("autoscaled-instance-type"):
            raise ValidationError(
                message=f"The update would change the instance type of variant {name} ({old_type} -> "
                f"{new_types[name]}), which is registered as an Application Auto Scaling target. "
                "Deregister the scalable target, update the endpoint, then register it again."
            )


def _variant_names(config: FakeEndpointConfig) -> set[str]:
    return {variant["VariantName"] for variant in every_variant(config)}


def _refuse_in_place_changes(
    endpoint_name: str,
    serving: FakeEndpointConfig,
    config: FakeEndpointConfig,
    deployment_config: dict[str, Any] | None,
) -> None:
    """What one UpdateEndpoint cannot change: real-time <-> asynchronous, and the variant names under guardrails."""
    was_async, is_async = bool(serving.async_inference_config), bool(config.async_inference_config)
    if was_async != is_async and enforced("async-inference-in-place"):
        # Removing it: AWS's words (sagemaker-python-sdk#3124). Adding it is undocumented: refused as well.
        verb = "removed from" if was_async else "added to"
        message = f"The AsyncInferenceConfig parameter cannot be {verb} this endpoint {endpoint_name}."
        raise ValidationError(message=message)
    old, new = _variant_names(serving), _variant_names(config)
    if deployment_config and old != new and enforced("guardrails-variant-names"):
        raise ValidationError(
            message="When doing a blue/green or rolling deployment, your new endpoint configuration must have the "
            f"same variant name as the old endpoint configuration: {', '.join(sorted(old))} -> "
            f"{', '.join(sorted(new))}."
        )


def update_endpoint_response(self: SageMakerResponse) -> Any:
    endpoint = update_endpoint(
        self.sagemaker_backend,
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties", False)),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def create_endpoint_response(self: SageMakerResponse) -> Any:
    endpoint = create_endpoint(
        self.sagemaker_backend,
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        tags=self._get_param("Tags"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
    """Lower-case ARNs still find resources named in mixed case (SageMaker names are case-insensitive), and a
    resource that does not exist is a ValidationError, as moto means it to be (its lookup returns None, and
    AddTags, ListTags and DeleteTags then fail with an internal error)."""
    kind, _, name = arn.rsplit(":", maxsplit=1)[-1].partition("/")
    found = backends.find_sagemaker(self, kind, name) if kind in backends.SAGEMAKER_COLLECTIONS else None
    if found is None:
        found = original(SageMakerModelBackend, "_get_resource_from_arn")(self, arn)
    if found is None:
        raise ValidationError(message=f"Could not find {kind} with name {name}")
    return found


def describe_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
    if endpoint_name in self.endpoints:
        lifecycle.advance(self.endpoints[endpoint_name])
    described: dict[str, Any] = original(SageMakerModelBackend, "describe_endpoint")(self, endpoint_name)
    return described


def list_endpoints(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
    for endpoint in list(self.endpoints.values()):
        lifecycle.advance(endpoint)
    return original(SageMakerModelBackend, "list_endpoints")(self, *args, **kwargs)


# Deletes find a resource by its name in any case: CloudFormation deletes by the (lower-case) ARN's name.
def delete_model(self: SageMakerModelBackend, model_name: str) -> None:
    original(SageMakerModelBackend, "delete_model")(self, backends.stored_name(self._models, model_name) or model_name)


def delete_endpoint_config(self: SageMakerModelBackend, endpoint_config_name: str) -> None:
    stored = backends.stored_name(self.endpoint_configs, endpoint_config_name)
    original(SageMakerModelBackend, "delete_endpoint_config")(self, stored or endpoint_config_name)


def delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
    stored = backends.stored_name(self.endpoints, endpoint_name) or endpoint_name
    original(SageMakerModelBackend, "delete_endpoint")(self, stored)
    lifecycle.forget(stored)
