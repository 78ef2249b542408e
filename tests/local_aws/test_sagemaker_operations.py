"""Every SageMaker operation moto implements answers the local AWS's callers without an internal error.

The patches replace moto functions that the rest of moto calls too; a replacement that does not accept a
call moto makes (as `arn_formatter` once did with `_type=`) fails operations the project never exercises
with HTTP 500. Each operation is called once with its required members, generated from botocore's model;
a 4xx is an answer, a 500 is the failure.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.sagemaker.responses import SageMakerResponse

from local_aws.config import DUMMY_KEY_ID, DUMMY_SECRET, REGION
from local_aws.patches import PATCHES
from tests.conftest import RunningLocalAws, started_local_aws
from tests.local_aws.strict_account import ACCOUNT

NAME = "probe"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{NAME}"
MODEL_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{NAME}"
S3_URI = f"s3://{NAME}/input"
# Optional members moto reads as if they were required: without them moto fails where AWS would not.
MOTO_ASSUMES: dict[str, dict[str, Any]] = {
    "CreateAutoMLJobV2": {
        "AutoMLProblemTypeConfig": {"ImageClassificationJobConfig": {"CompletionCriteria": {"MaxCandidates": 1}}}
    },
    "CreateTrainingJob": {"AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": NAME}},
    "CreateCluster": {
        "InstanceGroups": [
            {
                "InstanceGroupName": NAME,
                "InstanceType": "ml.c5.xlarge",
                "InstanceCount": 1,
                "LifeCycleConfig": {"SourceS3Uri": S3_URI, "OnCreate": "on_create.sh"},
                "ExecutionRole": ROLE_ARN,
            }
        ]
    },
    "CreateFeatureGroup": {"OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": S3_URI}}},
    "CreateModelExplainabilityJobDefinition": {
        "ModelExplainabilityJobInput": {"EndpointInput": {"EndpointName": NAME, "LocalPath": "/opt/ml/input"}}
    },
    "CreateModelQualityJobDefinition": {
        "ModelQualityJobInput": {
            "EndpointInput": {"EndpointName": NAME, "LocalPath": "/opt/ml/input"},
            "GroundTruthS3Input": {"S3Uri": S3_URI},
        }
    },
}
ORDER = ("Create", "Put", "Start", "Add", "Describe", "List", "Get", "Search", "Update", "Stop", "Delete")


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocalAws]:
    """A local AWS of its own: the calls below leave resources named `probe` behind."""
    with started_local_aws(tmp_path_factory.mktemp("operations")) as running:
        yield running


@functools.cache
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def implemented_operations() -> list[str]:
    """Operations of botocore's SageMaker model that moto's response layer answers (with the ones the patches
    add), creates first."""
    model = service_model()
    added = {patch.attribute for patch in PATCHES if patch.target is SageMakerResponse}
    names = [name for name in model.operation_names if hasattr(SageMakerResponse, xform_name(name))]
    names += [name for name in model.operation_names if xform_name(name) in added and name not in names]
    return sorted(names, key=lambda name: (next((i for i, p in enumerate(ORDER) if name.startswith(p)), 5), name))


def generated(shape: Any, member: str = "") -> Any:
    """A value of `shape` with only its required members, as simple as botocore's limits allow."""
    kind = shape.type_name
    if kind == "structure":
        names = list(shape.members)[:1] if shape.metadata.get("union") else shape.required_members
        return {name: generated(shape.members[name], name) for name in names}
    if kind == "list":
        return [generated(shape.member, member) for _ in range(shape.metadata.get("min", 0))]
    if kind == "map":
        return {}
    if kind == "string":
        return _string(shape, member)
    simple: dict[str, Any] = {"integer": 1, "long": 1, "float": 1.0, "double": 1.0, "boolean": False, "blob": b"x"}
    if kind in simple:
        minimum = shape.metadata.get("min")
        return simple[kind] if minimum is None else type(simple[kind])(minimum)
    assert kind == "timestamp", kind
    return datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _string(shape: Any, member: str) -> str:
    if shape.enum:
        return str(shape.enum[0])
    if member.endswith("RoleArn") or member == "RoleArn":
        return ROLE_ARN
    if member.endswith("Arn"):
        return MODEL_ARN
    if member.endswith(("Uri", "Url")) or "S3" in member:
        return S3_URI
    return NAME.ljust(shape.metadata.get("min", 1), "x")[: shape.metadata.get("max", 63)]


def request(operation: str, pipeline_execution_arn: str | None) -> dict[str, Any]:
    model = service_model()
    shape = model.operation_model(operation).input_shape
    params: dict[str, Any] = generated(shape) if shape else {}
    params |= MOTO_ASSUMES.get(operation, {})
    if "PipelineExecutionArn" in params and pipeline_execution_arn:
        params["PipelineExecutionArn"] = pipeline_execution_arn
    return params


def test_the_probe_covers_the_operations_the_project_relies_on() -> None:
    operations = implemented_operations()

    assert len(operations) > 100
    assert {"CreateModelPackageGroup", "CreateModelPackage", "CreateEndpointConfig", "UpdateEndpoint"} <= set(
        operations
    )


def test_no_sagemaker_operation_answers_an_internal_error(control: RunningLocalAws) -> None:
    client = boto3.session.Session(region_name=REGION).client(
        "sagemaker",
        endpoint_url=control.config.control_url,
        aws_access_key_id=DUMMY_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET,
        config=Config(retries={"total_max_attempts": 1}),  # a 500 is retried otherwise
    )
    failed: dict[str, str] = {}
    execution_arn: str | None = None

    for operation in implemented_operations():
        try:
            answer = getattr(client, xform_name(operation))(**request(operation, execution_arn))
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
                failed[operation] = str(error)[:200]
            continue
        execution_arn = answer.get("PipelineExecutionArn", execution_arn)

    assert not failed, sorted(failed)
