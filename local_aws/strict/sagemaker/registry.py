"""moto's model registry, made as SageMaker's: approval defaults and transitions, deploys of approved packages only,
and "SageMaker Model Package State Change" events on EventBridge.

moto 5.2 stores a versioned package created without `ModelApprovalStatus` with no status at all (AWS:
`PendingManualApproval`), replaces a package's CustomerMetadataProperties, ApprovalDescription and approval
status with nothing when an UpdateModelPackage leaves them out (AWS changes only what it is given), lets any
status follow any other, creates a Model from a package whatever its approval (AWS: "must be set to Approved to
deploy the model"), and emits no events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import Model, ModelPackage, SageMakerModelBackend

from local_aws.rules import enforced
from local_aws.strict import events
from local_aws.strict.iam import trust
from local_aws.strict.originals import original

APPROVED: Final = "Approved"
REJECTED: Final = "Rejected"
PENDING: Final = "PendingManualApproval"
EVENT_SOURCE: Final = "aws.sagemaker"
STATE_CHANGE: Final = "SageMaker Model Package State Change"


def create_model_package(  # noqa: PLR0917  # moto's parameters, by moto's names
    self: SageMakerModelBackend,
    model_package_name: str | None,
    model_package_group_name: str | None,
    model_package_description: str | None,
    inference_specification: Any,
    validation_specification: Any,
    source_algorithm_specification: Any,
    certify_for_marketplace: bool,
    tags: Any,
    model_approval_status: str | None,
    metadata_properties: Any,
    model_metrics: Any,
    client_token: Any,
    customer_metadata_properties: Any,
    drift_check_baselines: Any,
    domain: Any,
    task: Any,
    sample_payload_url: Any,
    additional_inference_specifications: Any,
) -> str:
    """moto's, with a versioned package's approval status PendingManualApproval unless given, and its event."""
    if model_package_group_name and model_approval_status is None and enforced("model-package-approval-default"):
        model_approval_status = PENDING
    arn: str = original(SageMakerModelBackend, "create_model_package")(
        self,
        model_package_name=model_package_name,
        model_package_group_name=model_package_group_name,
        model_package_description=model_package_description,
        inference_specification=inference_specification,
        validation_specification=validation_specification,
        source_algorithm_specification=source_algorithm_specification,
        certify_for_marketplace=certify_for_marketplace,
        tags=tags,
        model_approval_status=model_approval_status,
        metadata_properties=metadata_properties,
        model_metrics=model_metrics,
        client_token=client_token,
        customer_metadata_properties=customer_metadata_properties,
        drift_check_baselines=drift_check_baselines,
        domain=domain,
        task=task,
        sample_payload_url=sample_payload_url,
        additional_inference_specifications=additional_inference_specifications,
    )
    _emit(self, self.model_packages[arn])
    return arn


def update_model_package(  # noqa: PLR0917  # moto's parameters, by moto's names
    self: SageMakerModelBackend,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    """moto's, changing only what the request gives, refusing a return to PendingManualApproval; and its event."""
    package = find_package(self, model_package_arn)
    if package is None:
        raise ValidationError(message=f"Model package {model_package_arn} does not exist.")
    _check_transition(package, model_approval_status)
    before = package.model_approval_status
    if enforced("model-package-update-merge"):
        model_approval_status = model_approval_status or package.model_approval_status
        approval_description = (
            approval_description if approval_description is not None else package.approval_description
        )
        customer_metadata_properties = {
            **(package.customer_metadata_properties or {}),
            **(customer_metadata_properties or {}),
        }
    arn: str = original(SageMakerModelBackend, "update_model_package")(
        self,
        model_package_arn=model_package_arn,
        model_approval_status=model_approval_status,
        approval_description=approval_description,
        customer_metadata_properties=customer_metadata_properties,
        customer_metadata_properties_to_remove=customer_metadata_properties_to_remove,
        additional_inference_specifications_to_add=additional_inference_specifications_to_add,
    )
    if package.model_approval_status != before:  # a state change; an update that keeps the status is none
        _emit(self, package)
    return arn


def create_model(  # noqa: PLR0917  # moto's parameters, by moto's names
    self: SageMakerModelBackend,
    model_name: str,
    execution_role_arn: str,
    primary_container: dict[str, Any] | None,
    vpc_config: dict[str, Any] | None,
    containers: list[dict[str, Any]] | None,
    tags: list[dict[str, str]] | None,
) -> Model:
    """moto's; a container naming a ModelPackageName must name an Approved package. It is kept as declared
    (DescribeModel shows the package's name, not its image and artifact: AWS does not document that it resolves
    them, and a caller relying on it would break); what it runs is `backends.served_container`. A role whose trust
    policy does not let SageMaker assume it is refused (`service-role-trust`): the endpoint, its asynchronous
    invocations and transform jobs act as this role."""
    if not trust.service_may_assume(
        execution_role_arn, trust.SAGEMAKER_PRINCIPAL, {"aws:SourceAccount": self.account_id}
    ):
        raise ValidationError(message=trust.cannot_assume(execution_role_arn))
    model: Model = original(SageMakerModelBackend, "create_model")(
        self,
        model_name=model_name,
        execution_role_arn=execution_role_arn,
        primary_container=_from_package(self, primary_container) if primary_container else primary_container,
        vpc_config=vpc_config,
        containers=[_from_package(self, container) for container in containers or []],
        tags=tags,
    )
    return model


def find_package(backend: SageMakerModelBackend, name_or_arn: str) -> ModelPackage | None:
    """A package by its ARN (any case) or its name, as moto maps names to ARNs."""
    arn = backend.model_package_name_mapping.get(name_or_arn, name_or_arn)
    found: ModelPackage | None = backend.model_packages.get(arn) or backend.model_packages.get(arn.lower())
    return found


def _check_transition(package: ModelPackage, status: str | None) -> None:
    # The developer guide's "Update the Approval Status of a Model" lists the transitions: PendingManualApproval to
    # Approved or Rejected, Rejected to Approved, Approved to Rejected. A decided package (Approved or Rejected) going
    # back to PendingManualApproval is not among them: refused. A status set to itself (Approved to Approved) is not
    # documented either way: accepted, as a change of nothing, and it sends no state-change event (see
    # update_model_package): the worse case for a pipeline counting on a re-approval to start it again.
    decided = package.model_approval_status in (APPROVED, REJECTED)
    if status == PENDING and decided and enforced("model-package-transitions"):
        raise ValidationError(
            message=f"Model package {package.arn} is {package.model_approval_status}: its ModelApprovalStatus can "
            f"change to {APPROVED} or {REJECTED}, not back to {PENDING}."
        )


def _from_package(backend: SageMakerModelBackend, container: dict[str, Any]) -> dict[str, Any]:
    """The container, refused unless the package it names exists and is Approved."""
    name = container.get("ModelPackageName")
    if not name:
        return container
    package = find_package(backend, name)
    if package is None:
        raise ValidationError(message=f"Model package {name} does not exist.")
    if package.model_approval_status != APPROVED and enforced("model-package-deploy-approved"):
        raise ValidationError(
            message=f"Model package {package.arn} has ModelApprovalStatus {package.model_approval_status}; "
            f"a versioned model package must be {APPROVED} to deploy the model."
        )
    return container


def _emit(backend: SageMakerModelBackend, package: ModelPackage) -> None:
    if package.model_package_group_name and enforced("model-package-events"):
        events.emit(
            EVENT_SOURCE,
            STATE_CHANGE,
            state_change_detail(package),
            resources=[package.arn],
            account=backend.account_id,
            region=backend.region_name,
        )


def state_change_detail(package: ModelPackage) -> dict[str, Any]:
    """The event's detail: the package as DescribeModelPackage gives it, times as ISO-8601 UTC strings to the second
    (as the developer guide's example of a model package state change shows `CreationTime`,
    "2021-02-24T17:00:14Z")."""
    return {key: _plain(value) for key, value in package.gen_response_object().items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)  # moto's are naive UTC
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
