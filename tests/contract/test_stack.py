"""The stack's contract read back: outputs by key, a missing stack told apart, and clients that need a region."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from contract.clients import NO_REGION, NoRegionError, aws_clients
from contract.stack import STACK_BASE_NAME, Output, describe_stack, is_missing_stack, read_outputs


def cloudformation_answering(stacks: list[dict[str, Any]]) -> tuple[Any, Stubber]:
    client = boto3.session.Session().client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_response("describe_stacks", {"Stacks": stacks}, {"StackName": STACK_BASE_NAME})
    return client, stubber


def stack(status: str, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "StackName": STACK_BASE_NAME,
        "CreationTime": "2026-12-01T00:00:00Z",
        "StackStatus": status,
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
    }


def test_read_outputs_gives_each_output_by_its_key() -> None:
    declared = {Output.ENDPOINT_NAME: "KMeansEndpoint", Output.MODEL_NAME: "Model-abc123"}
    client, stubber = cloudformation_answering([stack("UPDATE_COMPLETE", declared)])

    with stubber:
        outputs = read_outputs(STACK_BASE_NAME, client)

    assert outputs == declared


def test_describe_stack_gives_the_status_and_no_outputs_when_none_are_declared() -> None:
    client, stubber = cloudformation_answering([stack("ROLLBACK_COMPLETE", {}) | {"Outputs": []}])

    with stubber:
        described = describe_stack(STACK_BASE_NAME, client)

    assert (described.name, described.status, described.outputs) == (STACK_BASE_NAME, "ROLLBACK_COMPLETE", {})


@pytest.mark.parametrize(
    ("code", "message", "missing"),
    [
        ("ValidationError", "Stack with id KMeansEndpoint does not exist", True),
        ("ValidationError", "1 validation error detected", False),
        ("AccessDenied", "User is not authorized to perform cloudformation:DescribeStacks", False),
    ],
)
def test_only_cloudformations_no_such_stack_counts_as_missing(code: str, message: str, missing: bool) -> None:
    error = ClientError({"Error": {"Code": code, "Message": message}}, "DescribeStacks")

    assert is_missing_stack(error) is missing


def test_candidate_outputs_are_named_after_the_candidate() -> None:
    assert Output.of_candidate("Challenger", Output.MODEL_NAME) == "ChallengerModelName"
    assert Output.of_candidate("Shadow", Output.ARTIFACT_SHA256) == "ShadowArtifactSha256"


def test_clients_need_a_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    with pytest.raises(NoRegionError, match=re.escape(NO_REGION)):
        aws_clients(("s3",))


def test_clients_use_standard_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    clients = aws_clients(("s3", "cloudformation"), read_timeout=70)

    assert set(clients) == {"s3", "cloudformation"}
    config = clients["s3"].meta.config
    assert (config.retries["mode"], config.read_timeout) == ("standard", 70)
