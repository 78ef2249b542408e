"""SageMaker's CloudFormation resources as CloudFormation handles them: names, endpoint create and update.

- `cfn-sagemaker-names`: an unnamed Model or EndpointConfig is named by its logical id and 12 random
  characters, with no stack prefix (aws-cli#4021).
- `cfn-endpoint-name`: moto 5.2 ignores `EndpointName` on AWS::SageMaker::Endpoint (its
  `cloudformation_name_type` is empty) and invents a name; CloudFormation keeps the stable name declared.
- An endpoint is created and updated as the API does (`UpdateEndpoint` in place; moto deletes and
  recreates), and CloudFormation waits for it to settle; a Model or EndpointConfig that is replaced is
  deleted in the stack's cleanup phase, after what depends on it was updated.
"""

from __future__ import annotations

import random
import string
from typing import Any

from moto.cloudformation import parsing
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, Model

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.cloudformation.stacks import defer_cleanup, replaced_in_cleanup
from local_aws.strict.originals import original
from local_aws.strict.sagemaker import lifecycle
from local_aws.strict.sagemaker.backend import (
    EndpointFailedError,
    create_endpoint,
    create_endpoint_config,
    update_endpoint,
)

SAGEMAKER_NAMED_BY_LOGICAL_ID = frozenset({"AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"})
SUFFIX_LENGTH = 12
SETTLE_TIMEOUT_S = 900.0  # bounds CloudFormation's wait for the endpoint, whatever the delays are set to
SAGEMAKER_NAME_LIMIT = 63


def sagemaker_generated_name(logical_id: str) -> str:
    """`Model-pR9dIu4ZjVhk`: the logical id and 12 random characters, no stack prefix (aws-cli#4021)."""
    suffix = "".join(random.choices(string.ascii_letters + string.digits, k=SUFFIX_LENGTH))
    return f"{logical_id[: SAGEMAKER_NAME_LIMIT - SUFFIX_LENGTH - 1]}-{suffix}"


def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    if resource_type in SAGEMAKER_NAMED_BY_LOGICAL_ID and enforced("cfn-sagemaker-names"):
        return sagemaker_generated_name(logical_id)
    name: str = original(parsing, "generate_resource_name")(resource_type, stack_name, logical_id)
    return name


def endpoint_name_property() -> str:
    """The property CloudFormation names an AWS::SageMaker::Endpoint by."""
    return "EndpointName" if enforced("cfn-endpoint-name") else original(FakeEndpoint, "cloudformation_name_type")()


def endpoint_from_template(
    resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> FakeEndpoint:
    """AWS::SageMaker::Endpoint: created as CreateEndpoint does; CloudFormation waits for InService."""
    properties = cloudformation_json["Properties"]
    backend = backends.sagemaker(account_id, region_name)
    endpoint = create_endpoint(
        backend,
        endpoint_name=resource_name,
        endpoint_config_name=properties["EndpointConfigName"],
        tags=properties.get("Tags", []),
        deployment_config=properties.get("DeploymentConfig"),
    )
    lifecycle.settle(endpoint, SETTLE_TIMEOUT_S)
    if endpoint.endpoint_status == "Failed":
        reason = endpoint.failure_reason
        backend.delete_endpoint(resource_name)  # what the rollback would delete
        raise EndpointFailedError(f"Endpoint {resource_name} failed: {reason}")
    return endpoint


def endpoint_update_from_template(
    original_resource: FakeEndpoint,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> FakeEndpoint:
    """UpdateEndpoint in place (moto deletes and recreates), with the template's retention settings."""
    properties = cloudformation_json["Properties"]
    name = properties.get("EndpointName", original_resource.endpoint_name)
    if name != original_resource.endpoint_name:
        # A new name replaces the endpoint: CloudFormation creates the new one, and deletes the old one in its
        # cleanup phase (moto deleted it first, so a replacement that failed left no endpoint at all).
        replacement = endpoint_from_template(name, cloudformation_json, account_id, region_name)
        old = original_resource.endpoint_name
        defer_cleanup(account_id, region_name, lambda: backends.sagemaker(account_id, region_name).delete_endpoint(old))
        return replacement
    endpoint = update_endpoint(
        backends.sagemaker(account_id, region_name),
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


def endpoint_config_from_template(
    resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> FakeEndpointConfig:
    """AWS::SageMaker::EndpointConfig as moto creates it, with its ShadowProductionVariants."""
    properties = cloudformation_json["Properties"]
    return create_endpoint_config(
        backends.sagemaker(account_id, region_name),
        shadow_production_variants=properties.get("ShadowProductionVariants"),
        endpoint_config_name=resource_name,
        production_variants=properties["ProductionVariants"],
        data_capture_config=properties.get("DataCaptureConfig", {}),
        async_inference_config=properties.get("AsyncInferenceConfig", {}),
        kms_key_id=properties.get("KmsKeyId"),
        tags=properties.get("Tags", []),
    )


model_update_from_template = replaced_in_cleanup(Model)
endpoint_config_update_from_template = replaced_in_cleanup(FakeEndpointConfig)
