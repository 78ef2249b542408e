"""What SageMaker's API refuses at request time, with its error wording (ValidationException).

Sources: API reference CreateEndpointConfig (ProductionVariant, KmsKeyId), UpdateEndpoint, DeploymentConfig,
BlueGreenUpdatePolicy, TrafficRoutingConfig, CapacitySize; developer guide "Deployment guardrails: exclusions"
and "Serverless Inference: feature exclusions". Where AWS's exact sentence is not documented the message
names the field and the limit as the API reference does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aws_facts import deployment as limits
from aws_facts.instance_types import closest_types, has_local_storage, production_variant_types
from local_aws.rules import enforced


class SageMakerValidationError(ValueError):
    """Raised as the API's ValidationException."""


def check_endpoint_config(
    variants: list[dict[str, Any]],
    kms_key_id: str | None,
    data_capture: dict[str, Any] | None,
    model_exists: Callable[[str], bool],
) -> None:
    names = [variant["VariantName"] for variant in variants]
    if enforced("duplicate-variant-names") and len(set(names)) != len(names):
        duplicated = sorted({name for name in names if names.count(name) > 1})
        raise SageMakerValidationError(f"Variant names must be unique; {', '.join(duplicated)} is repeated.")
    for index, variant in enumerate(variants, start=1):
        _check_variant(index, variant, kms_key_id, bool(data_capture and data_capture.get("EnableCapture", True)))
        model = variant.get("ModelName", "")  # optional in the API (inference components), required here
        if not model_exists(model):
            raise SageMakerValidationError(f'Could not find model "{model}".')


def check_shadow_variants(production: list[dict[str, Any]], shadows: list[dict[str, Any]]) -> None:
    """Shadow testing: one production variant and one shadow, neither serverless (developer guide, "Shadow
    tests": "Serverless inference is not supported"; one production and one shadow variant per endpoint).
    The exact sentences are not documented; these name the field and the limit."""
    if not shadows or not enforced("shadow-variant-limits"):
        return
    if len(shadows) > 1 or len(production) != 1:
        raise SageMakerValidationError(
            f"ShadowProductionVariants: an endpoint config with shadow variants takes exactly 1 production variant "
            f"and 1 shadow variant; got {len(production)} and {len(shadows)}."
        )
    if any("ServerlessConfig" in variant for variant in (*production, *shadows)):
        raise SageMakerValidationError("ShadowProductionVariants: shadow variants are not supported with serverless.")


def _check_variant(index: int, variant: dict[str, Any], kms_key_id: str | None, capturing: bool) -> None:
    instance_type = variant.get("InstanceType")
    if instance_type is None:
        if enforced("serverless-exclusions") and capturing and "ServerlessConfig" in variant:
            raise SageMakerValidationError("DataCaptureConfig is not supported for serverless endpoints.")
        return
    if enforced("instance-type-enum") and instance_type not in production_variant_types():
        raise SageMakerValidationError(
            f"1 validation error detected: Value '{instance_type}' at 'productionVariants.{index}.member."
            f"instanceType' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(closest_types(instance_type) or sorted(production_variant_types())[:5])}, ...]"
        )
    if enforced("kms-local-storage") and kms_key_id and has_local_storage(instance_type):
        raise SageMakerValidationError(
            f"The KmsKeyId parameter is not supported for instance type {instance_type}: it has local "
            "storage, which is encrypted with a hardware module on the instance."
        )


def check_deployment_config(deployment: dict[str, Any] | None, serverless: bool, fleet_size: int | None = None) -> None:
    """`fleet_size`: the instances now serving (on update), which a canary or linear step is a share of."""
    if not deployment:
        return
    if enforced("serverless-exclusions") and serverless and "RollingUpdatePolicy" in deployment:
        raise SageMakerValidationError("Rolling deployments are not supported for serverless endpoints.")
    policy = deployment.get("BlueGreenUpdatePolicy")
    if not policy:
        return
    routing = policy["TrafficRoutingConfiguration"]
    prefix = "deploymentConfig.blueGreenUpdatePolicy"
    if enforced("wait-intervals"):
        _in_range(
            f"{prefix}.trafficRoutingConfiguration.waitIntervalInSeconds",
            routing.get("WaitIntervalInSeconds"),
            limits.WAIT_INTERVAL_S,
        )
        _in_range(
            f"{prefix}.terminationWaitInSeconds", policy.get("TerminationWaitInSeconds"), limits.TERMINATION_WAIT_S
        )
    if enforced("execution-timeout"):
        _in_range(
            f"{prefix}.maximumExecutionTimeoutInSeconds",
            policy.get("MaximumExecutionTimeoutInSeconds"),
            limits.MAXIMUM_EXECUTION_TIMEOUT_S,
        )
    if enforced("execution-timeout-covers-waits"):
        _check_timeout_covers_waits(policy, routing)
    _check_step(routing, "CanarySize", "canary-size", limits.CANARY_PERCENT, fleet_size)
    _check_step(routing, "LinearStepSize", "linear-step-size", limits.LINEAR_STEP_PERCENT, fleet_size)


def _check_timeout_covers_waits(policy: dict[str, Any], routing: dict[str, Any]) -> None:
    """API BlueGreenUpdatePolicy: "the timeout value should be larger than the total waiting time"."""
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is None:
        return
    step = routing.get("LinearStepSize") or {}
    shifts = math.ceil(100 / int(step["Value"])) if step.get("Type") == "CAPACITY_PERCENT" else 1
    waiting = shifts * int(routing.get("WaitIntervalInSeconds", 0)) + int(policy.get("TerminationWaitInSeconds", 0))
    if int(timeout) <= waiting:
        raise SageMakerValidationError(
            f"MaximumExecutionTimeoutInSeconds {timeout} must be larger than the total waiting time of the "
            f"deployment ({shifts} x WaitIntervalInSeconds + TerminationWaitInSeconds = {waiting} s)."
        )


def _check_step(
    routing: dict[str, Any], field: str, rule: str, percent: tuple[int, int], fleet_size: int | None
) -> None:
    step = routing.get(field)
    if step is None or not enforced(rule):
        return
    low, high = percent
    value = int(step["Value"])
    if step.get("Type") == "CAPACITY_PERCENT" and not low <= value <= high:
        raise SageMakerValidationError(
            f"{field} with type CAPACITY_PERCENT must be between {low}% and {high}% of the fleet; got {value}%."
        )
    if fleet_size:
        # AWS does not say how a share rounds to instances; rounding up is the case worse for the user.
        instances = math.ceil(value * fleet_size / 100) if step.get("Type") == "CAPACITY_PERCENT" else value
        if 2 * instances > fleet_size:
            raise SageMakerValidationError(
                f"{field} amounts to {instances} of the fleet's {fleet_size} instance(s): more than 50% of the fleet."
            )


def _in_range(where: str, value: Any, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if value is not None and not low <= int(value) <= high:
        relation = "greater than or equal to" if int(value) < low else "less than or equal to"
        limit = low if int(value) < low else high
        raise SageMakerValidationError(
            f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
            f"Member must have value {relation} {limit}"
        )
