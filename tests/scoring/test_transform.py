"""Submitting and polling a transform job: the one place `python -m scoring` and the verifier's --batch share."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from contract.verifier import JOB_PREFIX
from scoring.errors import ScoringError
from scoring.transform import TransformRequest, job_name, poll, start, wait
from verification.batch import _run_job
from verification.errors import ExitCode, VerificationError


class FakeSageMaker:
    """Answers DescribeTransformJob with `statuses` in turn (the last one for ever); records CreateTransformJob."""

    def __init__(self, *statuses: str, refuse: str | None = None) -> None:
        self.statuses = list(statuses)
        self.refuse = refuse
        self.created: list[dict[str, Any]] = []
        self.described = 0

    def create_transform_job(self, **arguments: Any) -> None:
        if self.refuse:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": self.refuse}}, "CreateTransformJob")
        self.created.append(arguments)

    def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.described += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"TransformJobName": TransformJobName, "TransformJobStatus": status}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scoring.transform.time.sleep", lambda seconds: None)


def test_poll_follows_the_job_until_it_ends() -> None:
    sagemaker = FakeSageMaker("InProgress", "InProgress", "Completed")
    seen: list[str] = []

    described = poll(sagemaker, "job", 60, on_status=seen.append)

    assert described["TransformJobStatus"] == "Completed"
    assert seen == ["InProgress", "InProgress", "Completed"]


def test_poll_gives_the_last_description_when_time_is_up_and_wait_refuses_it() -> None:
    assert poll(FakeSageMaker("InProgress"), "job", 0)["TransformJobStatus"] == "InProgress"

    class Bar:
        def set_postfix_str(self, text: str) -> None: ...
        def update(self, count: int) -> None: ...

    with pytest.raises(ScoringError, match="transform job job is still InProgress after --timeout 0 s"):
        wait(FakeSageMaker("InProgress"), "job", Bar(), 0)


def test_the_verifiers_batch_job_is_the_simplest_csv_job_submitted_by_scoring() -> None:
    sagemaker = FakeSageMaker("Completed")
    name = job_name(JOB_PREFIX)

    described = _run_job(sagemaker, name, "Model-1", "bucket", wait_s=60)

    expected = TransformRequest.of_csv("Model-1", f"s3://bucket/input/{name}/", f"s3://bucket/output/{name}")
    assert sagemaker.created == [expected.api_arguments(name)]
    assert described["TransformJobStatus"] == "Completed"
    assert name.startswith("kmeans-verify-")
    assert sagemaker.created[0]["TransformInput"]["ContentType"] == "text/csv"
    assert sagemaker.created[0]["TransformOutput"]["Accept"] == "text/csv"
    assert sagemaker.created[0]["MaxPayloadInMB"] == 6


def test_a_refused_job_stops_the_verifier_as_not_ready() -> None:
    with pytest.raises(VerificationError, match="CreateTransformJob refused: ValidationException: no model") as stopped:
        _run_job(FakeSageMaker("Completed", refuse="no model"), "job", "Model-1", "bucket", wait_s=60)

    assert stopped.value.code == ExitCode.NOT_READY


def test_start_names_what_aws_refused() -> None:
    request = TransformRequest.of_csv("Model-1", "s3://b/in/", "s3://b/out")

    with pytest.raises(ScoringError, match="CreateTransformJob refused: ValidationException: bad"):
        start(FakeSageMaker("Completed", refuse="bad"), request, "job")


def test_the_verifiers_batch_job_encrypts_its_answers_with_the_stacks_key() -> None:
    sagemaker = FakeSageMaker("Completed")
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    _run_job(sagemaker, "job", "Model-1", "bucket", wait_s=60, key=key)

    assert sagemaker.created[0]["TransformOutput"]["KmsKeyId"] == key


def test_a_request_without_a_key_names_none() -> None:
    arguments = TransformRequest.of_csv("Model-1", "s3://b/in/", "s3://b/out").api_arguments("job")

    assert "KmsKeyId" not in arguments["TransformOutput"]
