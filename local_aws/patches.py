"""The one registry of what the local AWS replaces in moto: one row per attribute, installed by `install()`.

moto is extended, not forked: each row names a moto attribute, the replacement, the rule (local_aws/rules.py)
it serves and why. `install()` refuses to start unless moto is the pinned version and every row's attribute
exists, is of the kind the row expects, and its replacement accepts every way moto calls the original (the
same positional order and keyword names), so a moto release that renames or reshapes one fails loudly
instead of turning a rule off. Installing twice changes nothing. No other module assigns to moto.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import ChangeSet, CloudFormationBackend
from moto.cloudformation.models import Stack as FakeStack
from moto.cloudwatch.models import CloudWatchBackend
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.models import ManagedPolicy
from moto.kms.models import Key
from moto.logs.models import LogGroup
from moto.s3.models import FakeBucket
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, Model, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from local_aws.strict import (
    autoscaling,
    cloudwatch,
    kms,
    logs,
    originals,
    processing_jobs,
    s3,
    scheduler,
    training_jobs,
    transform_jobs,
)
from local_aws.strict.cloudformation import change_sets, stacks
from local_aws.strict.iam import authorization
from local_aws.strict.iam import resources as iam_resources
from local_aws.strict.sagemaker import backend as sagemaker
from local_aws.strict.sagemaker import group_policy
from local_aws.strict.sagemaker import registry as sagemaker_registry
from local_aws.strict.sagemaker import resources as sagemaker_resources

MOTO_VERSION = "5.2.5"  # the pin in requirements; tests/local_aws/test_patches.py checks they agree
REFUSAL = "local AWS refuses to start"

# What the original is, and so how the replacement is installed and compared.
FUNCTION = "function"  # a module's function
METHOD = "method"  # a plain function on a class
STATIC = "staticmethod"  # a staticmethod or classmethod on a class: replaced by a staticmethod
ADDED = "added method"  # a method moto lacks (an action it does not implement): must be absent
KINDS = (FUNCTION, METHOD, STATIC, ADDED)


@dataclass(frozen=True)
class Patch:
    """One replaced moto attribute."""

    target: Any  # a moto module or class
    attribute: str
    replacement: Callable[..., Any]
    kind: str
    rule: str  # the id in local_aws/rules.py this replacement serves
    why: str
    by_keyword: bool = False  # moto passes every argument by name: positions need not match

    @property
    def name(self) -> str:
        owner = self.target.__name__ if isinstance(self.target, types.ModuleType) else _class_name(self.target)
        return f"{owner}.{self.attribute}"


class PatchError(RuntimeError):
    """moto is not what the registry was written against; the message is one line naming what differs."""


def _class_name(target: type) -> str:
    return f"{target.__module__}.{target.__qualname__}"


def _rows() -> tuple[Patch, ...]:
    return (
        # CloudFormation: stacks and change sets
        Patch(parsing, "parse_and_create_resource", stacks.parse_and_create_resource, FUNCTION, "stack-rollback",
              "a failed resource names its logical id; the stack rolls back instead of the call failing"),
        Patch(parsing, "parse_and_update_resource", stacks.parse_and_update_resource, FUNCTION, "stack-rollback",
              "as above, for updates"),
        Patch(FakeStack, "create_resources", stacks.create_resources, METHOD, "stack-rollback",
              "a failed create deletes what was made: ROLLBACK_COMPLETE"),
        Patch(FakeStack, "update", stacks.update, METHOD, "stack-rollback",
              "a failed update restores the previous template: UPDATE_ROLLBACK_COMPLETE; replaced resources go last"),
        Patch(parsing.ResourceMap, "update", stacks.resource_map_update, METHOD, "autoscaled-instance-type",
              "resources added after a modified one they depend on; removed resources are forgotten, and deleted "
              "after the update (cfn-remove-in-cleanup)"),
        Patch(parsing.ResourceMap, "build_resource_diff", stacks.build_resource_diff, METHOD, "cfn-update-dependents",
              "moto diffs unresolved templates: what references a replaced Model is not updated"),
        Patch(CloudFormationBackend, "_resolve_update_parameters", stacks.resolve_update_parameters, METHOD,
              "cfn-previous-parameters", "moto fails with a KeyError on UsePreviousValue of an unrecorded parameter"),
        Patch(CloudFormationBackend, "delete_stack", stacks.delete_stack, METHOD, "cfn-delete-failed",
              "moto drops the stack and leaves an undeletable resource behind"),
        Patch(CloudFormationBackend, "describe_change_set", change_sets.describe_change_set, METHOD, "cfn-change-sets",
              "a missing change set is ChangeSetNotFound (404), which the CDK CLI waits on; moto says ValidationError"),
        Patch(CloudFormationBackend, "delete_change_set", change_sets.delete_change_set, METHOD, "cfn-change-sets",
              "deleting a missing change set succeeds; moto fails with an UnboundLocalError"),
        Patch(CloudFormationBackend, "execute_change_set", change_sets.execute_change_set, METHOD, "cfn-change-sets",
              "moto only updates the resource map: no outputs, no rollback"),
        Patch(ChangeSet, "diff", change_sets.diff, METHOD, "cfn-change-sets",
              "DescribeChangeSet's changes carry Replacement as CloudFormation computes it"),
        # CloudFormation resources of other services
        Patch(FakeBucket, "delete_from_cloudformation_json", s3.delete_bucket, STATIC, "cfn-delete-failed",
              "a bucket holding objects fails its delete (BucketNotEmpty)"),
        Patch(Key, "create_from_cloudformation_json", kms.create_key, STATIC, "cfn-kms-key-tags",
              "moto reads CloudFormation's {Key, Value} tags as the KMS API's {TagKey, TagValue}"),
        Patch(Key, "update_from_cloudformation_json", kms.update_key, STATIC, "cfn-kms-key-update",
              "moto inherits an abstract update that answers None: the stack loses the key"),
        Patch(LogGroup, "update_from_cloudformation_json", logs.update_log_group, STATIC, "cfn-log-group-update",
              "moto inherits an abstract update that answers None: a renamed group is never made, the old one stays"),
        Patch(ManagedPolicy, "update_from_cloudformation_json", iam_resources.replace_managed_policy, STATIC,
              "cfn-managed-policy-update", "moto has no update: it forgets the policy"),
        Patch(ManagedPolicy, "delete_from_cloudformation_json", iam_resources.delete_managed_policy, STATIC,
              "cfn-managed-policy-delete", "moto has no delete: the policy stays attached and its role undeletable"),
        Patch(parsing, "generate_resource_name", sagemaker_resources.generate_resource_name, FUNCTION,
              "cfn-sagemaker-names", "unnamed Model/EndpointConfig: logical id + 12 random characters"),
        Patch(FakeEndpoint, "cloudformation_name_type", sagemaker_resources.endpoint_name_property, STATIC,
              "cfn-endpoint-name", "moto ignores EndpointName and invents a name"),
        Patch(FakeEndpoint, "create_from_cloudformation_json", sagemaker_resources.endpoint_from_template, STATIC,
              "model-health-check", "created as CreateEndpoint does; CloudFormation waits for InService or fails"),
        Patch(FakeEndpoint, "update_from_cloudformation_json", sagemaker_resources.endpoint_update_from_template,
              STATIC, "retain-variant-properties", "UpdateEndpoint in place; moto deletes and recreates"),
        Patch(FakeEndpointConfig, "create_from_cloudformation_json", sagemaker_resources.endpoint_config_from_template,
              STATIC, "shadow-variant-limits", "validated, with its ShadowProductionVariants (moto drops them)"),
        Patch(FakeEndpointConfig, "update_from_cloudformation_json",
              sagemaker_resources.endpoint_config_update_from_template, STATIC, "stack-rollback",
              "the replaced config is deleted in cleanup, so a failed endpoint update keeps it serving"),
        Patch(Model, "update_from_cloudformation_json", sagemaker_resources.model_update_from_template, STATIC,
              "stack-rollback", "the replaced Model is deleted in cleanup, after the endpoint moved off it"),
        # SageMaker
        Patch(sagemaker_models, "arn_formatter", sagemaker.arn_formatter, FUNCTION, "sagemaker-arn-lower-case",
              "SageMaker ARNs carry model, endpoint-config and endpoint names in lower case"),
        Patch(SageMakerModelBackend, "_get_resource_from_arn", sagemaker.resource_from_arn, METHOD,
              "sagemaker-arn-lower-case", "a lower-case ARN finds a resource named in mixed case"),
        Patch(SageMakerModelBackend, "delete_model", sagemaker.delete_model, METHOD, "sagemaker-arn-lower-case",
              "CloudFormation deletes by the lower-case ARN's name"),
        Patch(SageMakerModelBackend, "delete_endpoint_config", sagemaker.delete_endpoint_config, METHOD,
              "sagemaker-arn-lower-case", "CloudFormation deletes by the lower-case ARN's name"),
        Patch(SageMakerModelBackend, "delete_endpoint", sagemaker.delete_endpoint, METHOD, "sagemaker-arn-lower-case",
              "CloudFormation deletes by the lower-case ARN's name; pending transitions go with it"),
        Patch(FakeEndpointConfig, "validate_instance_type", sagemaker.validate_instance_type, METHOD,
              "instance-type-enum", "moto's own instance-type list is outdated; botocore's is checked instead"),
        Patch(SageMakerModelBackend, "create_endpoint_config", sagemaker.create_endpoint_config, METHOD,
              "shadow-variant-limits", "validated as the API does, with ShadowProductionVariants kept"),
        Patch(SageMakerResponse, "create_endpoint_config", sagemaker.create_endpoint_config_response, METHOD,
              "shadow-variant-limits", "moto's response drops ShadowProductionVariants"),
        Patch(SageMakerResponse, "create_endpoint", sagemaker.create_endpoint_response, METHOD, "model-health-check",
              "Creating, then InService or Failed with SageMaker's reason; moto is InService at once"),
        Patch(SageMakerResponse, "update_endpoint", sagemaker.update_endpoint_response, ADDED,
              "retain-variant-properties", "moto has no UpdateEndpoint"),
        Patch(SageMakerModelBackend, "describe_endpoint", sagemaker.describe_endpoint, METHOD, "model-health-check",
              "the endpoint's status is brought up to now when read"),
        Patch(SageMakerModelBackend, "list_endpoints", sagemaker.list_endpoints, METHOD, "model-health-check",
              "as above, for every endpoint listed"),
        Patch(SageMakerModelBackend, "create_transform_job", transform_jobs.create_transform_job, METHOD,
              "transform-job-limits", "validated, and run: moto only stores the job, Completed at once",
              by_keyword=True),  # SageMakerResponse.create_transform_job
        Patch(SageMakerResponse, "stop_transform_job", transform_jobs.stop_transform_job_response, ADDED,
              "transform-job-limits", "moto has no StopTransformJob"),
        # SageMaker Model Registry
        Patch(SageMakerModelBackend, "create_model_package", sagemaker_registry.create_model_package, METHOD,
              "model-package-events", "PendingManualApproval unless given (model-package-approval-default), and "
              "its state-change event", by_keyword=True),  # SageMakerResponse.create_model_package
        Patch(SageMakerModelBackend, "update_model_package", sagemaker_registry.update_model_package, METHOD,
              "model-package-update-merge", "moto wipes what the request leaves out; transitions checked "
              "(model-package-transitions); its state-change event", by_keyword=True),
        Patch(SageMakerModelBackend, "create_model", sagemaker_registry.create_model, METHOD,
              "model-package-deploy-approved", "a ModelPackageName must name an Approved package, whose image and "
              "artifact the Model runs", by_keyword=True),  # SageMakerResponse, Model.create_from_cloudformation_json
        # A shared registry's group policy (moto has none)
        *(
            Patch(SageMakerResponse, f"{verb}_model_package_group_policy",
                  getattr(group_policy, f"{verb}_model_package_group_policy_response"), ADDED,
                  "model-package-group-policy", f"moto has no {verb.capitalize()}ModelPackageGroupPolicy")
            for verb in ("put", "get", "delete")
        ),
        Patch(SageMakerModelBackend, "create_training_job", training_jobs.create_training_job, METHOD,
              "training-hyperparameters", "run as SageMaker's k-means: moto only stores the job, Completed at once",
              by_keyword=True),  # SageMakerResponse.create_training_job
        Patch(SageMakerResponse, "stop_training_job", training_jobs.stop_training_job_response, ADDED,
              "training-hyperparameters", "moto has no StopTrainingJob"),
        Patch(SageMakerResponse, "create_processing_job", processing_jobs.create_processing_job, METHOD,
              "processing-jobs-run", "validated and run; moto stores the job Completed at once and drops its "
              "Environment and ProcessingResources"),
        Patch(SageMakerModelBackend, "stop_processing_job", processing_jobs.stop_processing_job, METHOD,
              "processing-jobs-run", "the running job stops (Stopping, then Stopped); moto only relabels it"),
        # CloudWatch
        Patch(CloudWatchBackend, "put_metric_data", cloudwatch.put_metric_data, METHOD, "alarm-evaluation",
              "the alarms on the metric are evaluated and notify their actions; moto only stores the data"),
        # IAM
        Patch(ActionAuthenticatorMixin, "_authenticate_and_authorize_action",
              authorization.authenticate_and_authorize_action, METHOD, "iam-evaluation",
              "calls made with a role's credentials are authorized against its policies"),
    )  # fmt: skip


PATCHES = _rows()
# CloudFormation resource types moto skips, declared as moto models in these modules; moto finds them only
# once its cached type map is recomputed.
MODELS = {
    "AWS::ApplicationAutoScaling::ScalableTarget": autoscaling.ScalableTarget,
    "AWS::CloudWatch::Alarm": cloudwatch.AlarmResource,
    "AWS::Scheduler::Schedule": scheduler.ScheduleResource,
}


def install(patches: Iterable[Patch] = PATCHES, version: str | None = None) -> None:
    """Check every row, then install those not yet installed; raises PatchError naming what is wrong."""
    rows = tuple(patches)
    check(rows, version)
    for patch in rows:
        if not installed(patch):
            if patch.kind != ADDED:
                originals.keep(patch.target, patch.attribute)
            replacement: Any = staticmethod(patch.replacement) if patch.kind == STATIC else patch.replacement
            setattr(patch.target, patch.attribute, replacement)
    parsing.get_model_map.cache_clear()
    model_map = parsing.get_model_map()
    missing = [name for name, model in MODELS.items() if model_map.get(name) is not model]
    if missing:
        raise PatchError(f"{REFUSAL}: moto's CloudFormation does not see {missing} (moto {MOTO_VERSION} expected)")


def check(patches: Iterable[Patch] = PATCHES, version: str | None = None) -> None:
    """Refuse unless moto is the pinned version and every row not yet installed fits what moto has."""
    found = version or metadata.version("moto")
    if found != MOTO_VERSION:
        raise PatchError(f"{REFUSAL}: moto {found} is installed, the local AWS is written against {MOTO_VERSION}")
    for patch in patches:
        if not installed(patch):
            problem = _problem(patch)
            if problem:
                raise PatchError(f"{REFUSAL}: {patch.name} {problem} (moto {MOTO_VERSION} expected)")


def installed(patch: Patch) -> bool:
    return getattr(patch.target, patch.attribute, None) is patch.replacement


def _problem(patch: Patch) -> str | None:
    """What is wrong with `patch` against moto as it is now, or None."""
    assert patch.kind in KINDS, patch.kind
    present = hasattr(patch.target, patch.attribute)
    if patch.kind == ADDED:
        return "exists now (moto implements it: drop or rework the replacement)" if present else None
    if not present:
        return "is missing"
    static = inspect.getattr_static(patch.target, patch.attribute)
    expected = {
        FUNCTION: inspect.isfunction(static),
        METHOD: inspect.isfunction(static),
        STATIC: isinstance(static, staticmethod | classmethod),
    }[patch.kind]
    if not expected:
        return f"is a {type(static).__name__}, not a {patch.kind}"
    return signature_mismatch(getattr(patch.target, patch.attribute), patch.replacement, patch.by_keyword)


def signature_mismatch(
    original: Callable[..., Any], replacement: Callable[..., Any], by_keyword: bool = False
) -> str | None:
    """Why `replacement` would not accept a call that `original` accepts, or None.

    Every parameter of the original must be accepted by the replacement at the same position (if the
    original takes it positionally, unless moto passes everything `by_keyword`) and by the same name (if it
    takes it by keyword), and the replacement may require nothing the original does not."""
    wanted = list(inspect.signature(original).parameters.values())
    given = list(inspect.signature(replacement).parameters.values())
    takes_args = any(p.kind is p.VAR_POSITIONAL for p in given)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in given)
    positional = [p for p in given if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_name = {p.name: p for p in given if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    for index, parameter in enumerate(wanted):
        if parameter.kind is parameter.VAR_POSITIONAL and not takes_args:
            return "is called with *args the replacement does not take"
        if parameter.kind is parameter.VAR_KEYWORD and not takes_kwargs:
            return "is called with **kwargs the replacement does not take"
        if index and by_keyword and parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            pass  # moto names it: only the name below matters (index 0 is self, always positional)
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            at = positional[index].name if index < len(positional) else None
            if at is None and not takes_args:
                return f"takes {parameter.name!r} at position {index}, which the replacement does not take"
            if at is not None and parameter.kind is parameter.POSITIONAL_OR_KEYWORD and at != parameter.name:
                return f"takes {parameter.name!r} at position {index}, where the replacement takes {at!r}"
        keyword = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        if keyword and parameter.name not in by_name and not takes_kwargs:
            return f"is called with {parameter.name}=, which the replacement does not take"
    names = {p.name for p in wanted}
    required = [p.name for p in given if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    extra = [name for name in required if name not in names]
    return f"is called without {extra}, which the replacement requires" if extra else None
