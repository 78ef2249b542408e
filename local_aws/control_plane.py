"""The control plane: moto's server, with seven gaps of its CloudFormation support closed.

1. moto 5.2 ignores `EndpointName` on AWS::SageMaker::Endpoint (its `cloudformation_name_type`
   is empty) and invents a name; CloudFormation keeps the stable name this project declares.
2. On update, the CDK CLI passes `UsePreviousValue` for `BootstrapVersion`, an SSM-typed
   parameter moto never recorded at create time, and moto fails with a KeyError; an unrecorded
   previous value is now left out, so the template's default applies, as it did at create time.
3. moto decides what an update modifies by comparing unresolved templates, so replacing the
   Model (a new artifact) does not reach the EndpointConfig whose resolved ModelName changes,
   nor the Endpoint after it. Resources that Ref or GetAtt a modified one are now modified
   too, in template order (CDK writes a resource after what it references).
4. moto has no CloudFormation delete for AWS::IAM::ManagedPolicy, so the policy stays attached
   and the Role it is attached to can never be deleted: `cdk destroy` fails. The policy is now
   detached and deleted, as CloudFormation does.
5. Nor has it an update for AWS::IAM::ManagedPolicy: after an update that changes the policy
   (any new artifact does) moto forgets the resource, and (4) cannot reach it. The old policy
   is now deleted and the new one created.
6. AWS::KMS::Key tags are {Key, Value} in CloudFormation; moto reads them as the KMS API's
   {TagKey, TagValue} and fails on any tagged key. They are now translated first.
7. Deleting a stack whose bucket still holds objects (or any resource that cannot be deleted): moto drops
   the stack and silently leaves the bucket behind. CloudFormation fails the bucket (BucketNotEmpty),
   deletes the rest, and leaves the stack in DELETE_FAILED until it is emptied and deleted again; so
   does this now, so `cdk destroy` without `python -m teardown` first fails here as it does on AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.core.exceptions import ServiceException, _RESTError
from moto.iam.models import ManagedPolicy, iam_backends
from moto.kms.models import Key
from moto.moto_server.threaded_moto_server import MotoRequestHandler  # type: ignore[attr-defined]
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import FakeBucket, s3_backends
from moto.sagemaker.models import FakeEndpoint
from moto.utilities.utils import get_partition
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from local_aws.config import CONTROL_PORT_VARIABLE
from local_aws.rules import enforced
from local_aws.strict.autoscaling import patch_autoscaling
from local_aws.strict.cloudformation.change_sets import patch_change_sets
from local_aws.strict.cloudformation.stacks import patch_cloudformation
from local_aws.strict.cloudformation.template import references
from local_aws.strict.cloudwatch import patch_cloudwatch
from local_aws.strict.iam.authorization import authorize, patch_authorization, sagemaker_request
from local_aws.strict.iam.principals import Verdict
from local_aws.strict.sagemaker.backend import patch_sagemaker
from local_aws.strict.transform_jobs import patch_transform_jobs

AUTHORIZE_PATH = "/_local_aws/authorize"
ALLOWED = Verdict(True, "")


def _endpoint_name_property() -> str:
    return "EndpointName"


def _resolve_update_parameters(self: Any, instance: Any, incoming_params: list[dict[str, str]]) -> dict[str, str]:
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in incoming_params if "ParameterValue" in p}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue", False) and key in instance.parameters:
            parameters[key] = instance.parameters[key]
    return parameters


_original_build_resource_diff = ResourceMap.build_resource_diff


def _build_resource_diff(self: Any, template: dict[str, Any], parameters: Any = None) -> dict[str, list[str]]:
    actions: dict[str, list[str]] = _original_build_resource_diff(self, template, parameters)
    resources = template["Resources"]
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


def _delete_managed_policy(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    backend = iam_backends[account_id][get_partition(region_name)]
    policy_arn = resource_name  # the physical id of a managed policy is its ARN
    for role in list(backend.roles.values()):
        if policy_arn in role.managed_policies:
            backend.detach_role_policy(policy_arn, role.name)
    backend.delete_policy(policy_arn)


def _replace_managed_policy(
    original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> Any:
    _delete_managed_policy(original_resource.arn, cloudformation_json, account_id, region_name)
    return ManagedPolicy.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )


_original_create_key = Key.create_from_cloudformation_json


def _create_key(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
    properties = cloudformation_json.get("Properties", {})
    tags = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])]
    translated = {**cloudformation_json, "Properties": {**properties, "Tags": tags}}
    return _original_create_key(resource_name, translated, account_id, region_name, **kwargs)


class BucketNotEmptyError(Exception):
    """What CloudFormation reports for a bucket it cannot delete."""


def _delete_bucket(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    backend = s3_backends[account_id][get_partition(region_name)]
    if backend.get_bucket(resource_name).keys:
        raise BucketNotEmptyError(f"{resource_name}: The bucket you tried to delete is not empty (BucketNotEmpty)")
    backend.delete_bucket(resource_name)


_original_delete_stack = CloudFormationBackend.delete_stack


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    stacks = dict(self.stacks)
    try:
        _original_delete_stack(self, name_or_stack_id)
    except (BucketNotEmptyError, ServiceException, _RESTError) as error:
        # Any resource CloudFormation cannot delete fails the delete, and the stack stays (DELETE_FAILED).
        for stack_id, stack in stacks.items():
            if stack_id not in self.stacks:  # the one moto popped before failing
                stack.status = "DELETE_FAILED"
                stack._add_stack_event("DELETE_FAILED", resource_status_reason=str(error))
                self.stacks[stack_id] = stack


def patch_moto() -> None:
    """Close the seven gaps above, and make moto as strict as AWS where the project relies on it."""
    FakeBucket.delete_from_cloudformation_json = staticmethod(_delete_bucket)  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = _delete_stack  # type: ignore[method-assign]
    Key.create_from_cloudformation_json = staticmethod(_create_key)  # type: ignore[method-assign]
    ManagedPolicy.update_from_cloudformation_json = staticmethod(_replace_managed_policy)  # type: ignore[method-assign]
    ManagedPolicy.delete_from_cloudformation_json = staticmethod(_delete_managed_policy)  # type: ignore[method-assign]
    FakeEndpoint.cloudformation_name_type = staticmethod(_endpoint_name_property)  # type: ignore[method-assign]
    CloudFormationBackend._resolve_update_parameters = _resolve_update_parameters  # type: ignore[method-assign]
    ResourceMap.build_resource_diff = _build_resource_diff  # type: ignore[method-assign, assignment]
    patch_sagemaker()
    patch_cloudformation()
    patch_change_sets()
    patch_autoscaling()
    patch_cloudwatch()
    patch_authorization()
    patch_transform_jobs()


class AuthorizeRoute:
    """POST /_local_aws/authorize {access_key_id, endpoint_name, action}: the runtime asks who may invoke what.

    The runtime is another process; IAM's state lives here.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != AUTHORIZE_PATH:
            return self.app(environ, start_response)
        asked = json.loads(Request(environ).get_data() or b"{}")
        # InvokeEndpoint or InvokeEndpointAsync: each is its own IAM action.
        action = "InvokeEndpointAsync" if asked.get("action") == "InvokeEndpointAsync" else "InvokeEndpoint"
        request = sagemaker_request(action, {"EndpointName": asked.get("endpoint_name", "")})
        verdict = authorize(asked.get("access_key_id"), request) if enforced("invoke-authorization") else ALLOWED
        body = json.dumps({"allowed": verdict.allowed, "message": verdict.message})
        return Response(body, content_type="application/json")(environ, start_response)


def run(argv: list[str]) -> None:
    """Start moto's server, patched, with the authorize route; argv: -H HOST -p PORT."""
    parser = argparse.ArgumentParser(prog="local_aws.control_plane")
    parser.add_argument("-H", "--host", default="localhost")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    # What this process (and the transform workers it starts) call back into: its own S3.
    os.environ[CONTROL_PORT_VARIABLE] = str(args.port)
    patch_moto()
    app = AuthorizeRoute(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    run(sys.argv[1:])
