"""Every request meets AWS's API model first (rule api-model-validation): botocore's constraints, AWS's words.

The requests go out with botocore's own client-side checks off, as a client in another language would send
them; `LOCAL_AWS_RELAX=api-model-validation` lets each through to the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws import api_model
from local_aws.config import DUMMY_KEY_ID, DUMMY_SECRET, REGION
from local_aws.rules import RELAX_VARIABLE
from tests.conftest import RunningLocalAws, started_local_aws

DETECTED = "validation error detected"
UNCHECKED = Config(parameter_validation=False, retries={"max_attempts": 1})
TRANSFORM_JOB = {
    "TransformJobName": "model-checked",
    "ModelName": "no-such-model",
    "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/x"}}},
    "TransformOutput": {"S3OutputPath": "s3://out/x"},
}


@dataclass(frozen=True)
class Case:
    """One request that breaks the model, and the error AWS answers it with."""

    service: str
    operation: str
    params: dict[str, Any]
    code: str
    words: str

    def send(self, local_aws: RunningLocalAws) -> Any:
        runtime = self.service == "sagemaker-runtime"
        client = boto3.session.Session(region_name=REGION).client(
            self.service,
            endpoint_url=local_aws.config.runtime_url if runtime else local_aws.config.control_url,
            aws_access_key_id=DUMMY_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET,
            config=UNCHECKED,  # botocore's own (laxer) checks off: the server must refuse
        )
        return getattr(client, self.operation)(**self.params)

    def answer(self, local_aws: RunningLocalAws) -> str:
        """'accepted', or the error's message."""
        try:
            self.send(local_aws)
        except ClientError as error:
            return str(error.response["Error"]["Message"])
        return "accepted"


CASES = {
    "enum": Case(
        "sagemaker",
        "create_transform_job",
        {**TRANSFORM_JOB, "TransformResources": {"InstanceType": "ml.c5.large", "InstanceCount": 1}},
        "ValidationException",
        "1 validation error detected: Value 'ml.c5.large' at 'transformResources.instanceType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ml.m4.xlarge, ",
    ),
    "range": Case(
        "sagemaker",
        "list_endpoints",
        {"MaxResults": 0},
        "ValidationException",
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    "length": Case(
        "sagemaker",
        "describe_endpoint_config",
        {"EndpointConfigName": "a" * 64},
        "ValidationException",
        # 64 characters also break the pattern's {0,62}: AWS reports both
        f"2 validation errors detected: Value '{'a' * 64}' at 'endpointConfigName' failed to satisfy constraint: "
        f"Member must have length less than or equal to 63; Value '{'a' * 64}' at 'endpointConfigName' failed",
    ),
    "pattern": Case(
        "sagemaker",
        "describe_endpoint",
        {"EndpointName": "my_endpoint"},
        "ValidationException",
        "1 validation error detected: Value 'my_endpoint' at 'endpointName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ",
    ),
    "missing": Case(
        "sagemaker",
        "create_endpoint",
        {"EndpointName": "no-config"},
        "ValidationException",
        "1 validation error detected: Value null at 'endpointConfigName' failed to satisfy constraint: "
        "Member must not be null",
    ),
    "list member (query protocol)": Case(
        "cloudformation",
        "list_stacks",
        {"StackStatusFilter": ["CREATE_COMPLETE", "DONE"]},
        "ValidationError",
        "1 validation error detected: Value 'DONE' at 'stackStatusFilter.2.member' failed to satisfy constraint: "
        "Member must satisfy enum value set: [CREATE_IN_PROGRESS, ",
    ),
    "two errors": Case(
        "sagemaker",
        "list_endpoints",
        {"MaxResults": 101, "NameContains": "a_b"},
        "ValidationException",
        "2 validation errors detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have "
        "value less than or equal to 100; Value 'a_b' at 'nameContains' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ",
    ),
    "CloudWatch Logs' own code": Case(
        "logs",
        "describe_log_streams",
        {"logGroupName": "g", "limit": 0},
        "InvalidParameterException",
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    "runtime path": Case(
        "sagemaker-runtime",
        "invoke_endpoint",
        {"EndpointName": "my_endpoint", "Body": b"1", "ContentType": "text/csv"},
        "ValidationError",
        "1 validation error detected: Value 'my_endpoint' at 'endpointName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ",
    ),
}


@pytest.fixture(scope="module")
def relaxed_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocalAws]:
    with started_local_aws(tmp_path_factory.mktemp("unvalidated"), **{RELAX_VARIABLE: api_model.RULE}) as running:
        yield running


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_requests_that_break_the_api_model_are_refused_in_aws_words(local_aws: RunningLocalAws, case: Case) -> None:
    """Rule api-model-validation: an enum, a range, a length, a pattern, a missing member, in each protocol."""
    with pytest.raises(ClientError) as raised:
        case.send(local_aws)

    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == case.code
    assert error["Error"]["Message"].startswith(case.words)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_with_the_rule_relaxed_each_request_reaches_the_service(relaxed_aws: RunningLocalAws, case: Case) -> None:
    answer = case.answer(relaxed_aws)  # the service's own (no such endpoint, ...), or success

    assert DETECTED not in answer


def test_a_valid_request_goes_through(local_aws: RunningLocalAws) -> None:
    listed = local_aws.client("sagemaker").list_endpoints(MaxResults=100)

    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200


# The validator itself, without a server.


def test_a_map_names_the_constraints_its_values_break() -> None:
    errors = api_model.violations("logs", "CreateLogGroup", {"logGroupName": "g", "tags": {"k": "v" * 257}})

    assert errors == [
        f"Value '{{k={'v' * 257}}}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: "
        "[Member must have length less than or equal to 256]"
    ]


def test_a_sensitive_value_is_not_repeated_in_the_message() -> None:
    """As AWS words it for sensitive members ("Value at 'password' failed to satisfy constraint: ...")."""
    errors = api_model.violations("iam", "CreateLoginProfile", {"UserName": "u", "Password": "x" * 129})

    assert errors == [
        "Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 128"
    ]


def test_patterns_python_cannot_read_as_java_does_are_skipped() -> None:
    """InvokeEndpoint's ContentType pattern is `\\p{ASCII}*`: not checked, so nothing is refused for it."""
    params = {"EndpointName": "ok", "Body": b"", "ContentType": "téxt/csv"}

    assert api_model.violations("sagemaker-runtime", "InvokeEndpoint", params) == []


def test_a_valid_transform_job_passes_and_the_validator_is_compiled_once() -> None:
    params = {**TRANSFORM_JOB, "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}

    assert api_model.violations("sagemaker", "CreateTransformJob", params) == []
    assert api_model.violations("sagemaker", "CreateTransformJob", params) == []
    assert api_model._validator.cache_info().hits >= 1
