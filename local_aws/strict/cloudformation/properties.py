"""Rule `cfn-resource-validation`: what CloudFormation creates is checked against the API's model, as the service is.

CloudFormation's resource handler calls the service's own API (CreateEndpointConfig for an
AWS::SageMaker::EndpointConfig...), whose front door validates the request against the service model; a property
that breaks a constraint fails the resource (CREATE_FAILED / UPDATE_FAILED) with the service's message, and the
stack rolls back. moto creates these resources without a request, so nothing checked them: now each resource's
resolved properties go through `local_aws.api_model` with the operation CloudFormation calls. Properties the API
does not have (CloudFormation's own, such as RetainDeploymentConfig) and Tags (a list in some templates, a map in
some APIs) are left out; a name CloudFormation generates when the template gives none counts as given.

The reason reads as a resource handler's: `Resource handler returned message: "1 validation error detected: ...
(Service: SageMaker, Status Code: 400, Request ID: ...)"` (cloudformation-coverage-roadmap#2349 and #1953 show the
shape; the quoted text is the service's own, api_model's).
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.cloudformation import parsing

from local_aws import api_model
from local_aws.rules import enforced

RULE = "cfn-resource-validation"
# resource type -> (service, the operation its handler calls, the name members CloudFormation generates)
OPERATIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "AWS::SageMaker::Model": ("sagemaker", "CreateModel", ("ModelName",)),
    "AWS::SageMaker::EndpointConfig": ("sagemaker", "CreateEndpointConfig", ("EndpointConfigName",)),
    "AWS::SageMaker::Endpoint": ("sagemaker", "CreateEndpoint", ("EndpointName",)),
    "AWS::ApplicationAutoScaling::ScalableTarget": ("application-autoscaling", "RegisterScalableTarget", ()),
    "AWS::CloudWatch::Alarm": ("cloudwatch", "PutMetricAlarm", ("AlarmName",)),
}
GENERATED = "generated-by-cloudformation"  # stands for a generated name: it satisfies every name pattern above
LEFT_OUT = frozenset({"Tags"})


class PropertyValidationError(RuntimeError):
    """The service refused the handler's request; the message is the service's, as the handler reports it."""


def check_properties(resource_json: dict[str, Any], resources_map: Any) -> None:
    """Raise PropertyValidationError when the resource's resolved properties break the API's model."""
    found = OPERATIONS.get(str(resource_json.get("Type")))
    if found is None or not enforced(RULE) or resource_json.get("Condition"):
        return  # a conditional resource may not be created at all: moto decides, then creates it unchecked
    service, operation, generated = found
    model = api_model.operation_model(service, operation)
    if model is None or model.input_shape is None:
        return
    resolved = parsing.clean_json(resource_json.get("Properties", {}), resources_map)
    members = model.input_shape.members
    params = {name: value for name, value in resolved.items() if name in members and name not in LEFT_OUT}
    for name in generated:
        params.setdefault(name, GENERATED)
    errors = api_model.violations(service, operation, params)
    if errors:
        title = api_model.service_model(service).metadata.get("serviceId", service)
        raise PropertyValidationError(
            f"{api_model.message(errors)} (Service: {title}, Status Code: 400, Request ID: {uuid.uuid4()})"
        )
