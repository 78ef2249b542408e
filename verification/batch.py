"""The offline paths: `--batch` (a Batch Transform job) and asynchronous endpoints (InvokeEndpointAsync).

The reference rows go to the stack's scoring bucket as one CSV object; a transform job of the stack's
Model answers them (submitted and polled by `scoring`, as `python -m scoring` does); every output line is
compared with the reference set as the real-time check does.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from contract.stack import Output
from contract.verifier import JOB_PREFIX, async_request_key, batch_input_prefix, batch_output_prefix
from scoring.errors import ScoringError
from scoring.transform import TransformRequest, job_name, poll, start
from verification.checks import CheckResult
from verification.compare import Tolerance, compare
from verification.errors import ExitCode, VerificationError
from verification.target import Expected
from wire.answers import read_answers
from wire.float32_text import csv_lines
from wire.media_types import CSV, JSON

POLL_INTERVAL_S = 1.0


def batch_transform(
    clients: dict[str, Any], outputs: dict[str, str], expected: Expected, tolerance: Tolerance, wait_s: float
) -> CheckResult:
    bucket, model = outputs.get(Output.SCORING_BUCKET_NAME), outputs.get(Output.MODEL_NAME)
    if not bucket or not model:
        raise VerificationError(
            f"--batch needs the stack's {Output.MODEL_NAME} and {Output.SCORING_BUCKET_NAME} outputs: "
            "deploy with -c scoring=true",
            ExitCode.USAGE,
        )
    name = job_name(JOB_PREFIX)
    rows = expected.reference.rows
    _upload_rows(clients["s3"], bucket, f"{batch_input_prefix(name)}/reference.csv", expected)
    described = _run_job(clients["sagemaker"], name, model, bucket, wait_s, key=outputs.get(Output.SCORING_KEY_ARN))
    if described["TransformJobStatus"] != "Completed":
        reason = described.get("FailureReason") or "no FailureReason given"
        return CheckResult("batch transform", False, f"job {name} is {described['TransformJobStatus']}: {reason}")
    body = clients["s3"].get_object(Bucket=bucket, Key=f"{batch_output_prefix(name)}/reference.csv.out")["Body"].read()
    closest, distances = read_answers(CSV, body)
    if len(closest) != len(rows):
        return CheckResult("batch transform", False, f"job {name}: {len(closest)} answers for {len(rows)} rows")
    outcome = compare(expected.reference, np.array(closest), np.array(distances), tolerance)
    detail = f"job {name}: {outcome.rows} rows, {len(outcome.ties)} ties, {len(outcome.mismatches)} mismatches"
    data = {"job": name, "rows": outcome.rows, "metric": outcome.metric, "ties": outcome.ties}
    return CheckResult(
        "batch transform", outcome.passed, detail, {**data, "mismatches": [m.__dict__ for m in outcome.mismatches]}
    )


def _upload_rows(s3: Any, bucket: str, key: str, expected: Expected) -> None:
    """The reference rows as exact CSV, one object."""
    s3.put_object(Bucket=bucket, Key=key, Body=b"\n".join(csv_lines(expected.reference.rows)))


def _run_job(
    sagemaker: Any, name: str, model: str, bucket: str, wait_s: float, *, key: str | None = None
) -> dict[str, Any]:
    """The job's last description: ended, or still running after `wait_s` (the check then fails); the answers are
    encrypted with `key`, the stack's (TransformOutput.KmsKeyId)."""
    request = TransformRequest.of_csv(
        model, f"s3://{bucket}/{batch_input_prefix(name)}/", f"s3://{bucket}/{batch_output_prefix(name)}", key
    )
    try:
        start(sagemaker, request, name)
    except ScoringError as error:
        raise VerificationError(str(error), ExitCode.NOT_READY) from error
    return poll(sagemaker, name, wait_s)


def async_predictions(
    clients: dict[str, Any], outputs: dict[str, str], endpoint_name: str, expected: Expected, *, tolerance: Tolerance,
    wait_s: float,
) -> CheckResult:  # fmt: skip
    """An asynchronous endpoint answers only InvokeEndpointAsync: the reference rows go through it, S3 in, S3 out."""
    bucket = outputs.get(Output.SCORING_BUCKET_NAME)
    if not bucket:
        raise VerificationError(
            f"an asynchronous endpoint needs the stack's {Output.SCORING_BUCKET_NAME} output", ExitCode.USAGE
        )
    name = job_name(JOB_PREFIX)
    key = async_request_key(name)
    _upload_rows(clients["s3"], bucket, key, expected)
    started = clients["sagemaker-runtime"].invoke_endpoint_async(
        EndpointName=endpoint_name, InputLocation=f"s3://{bucket}/{key}", ContentType=CSV, Accept=JSON,
        InferenceId=name,
    )  # fmt: skip
    body = _awaited(clients["s3"], started["OutputLocation"], started["FailureLocation"], wait_s)
    if body is None:
        return CheckResult(
            "predictions async", False, f"{name}: no answer at {started['OutputLocation']} in {wait_s:g} s"
        )
    if isinstance(body, str):
        return CheckResult("predictions async", False, f"{name} failed: {body}")
    closest, distances = read_answers(JSON, body)
    outcome = compare(expected.reference, np.array(closest), np.array(distances), tolerance)
    detail = (
        f"{outcome.rows} rows via InvokeEndpointAsync, {len(outcome.ties)} ties, {len(outcome.mismatches)} mismatches"
    )
    data = {"inference_id": name, "rows": outcome.rows, "metric": outcome.metric, "ties": outcome.ties}
    return CheckResult(
        "predictions async", outcome.passed, detail, {**data, "mismatches": [m.__dict__ for m in outcome.mismatches]}
    )


def _awaited(s3: Any, output: str, failure: str, wait_s: float) -> bytes | str | None:
    """The answer's bytes, the failure's text, or None when neither appeared within `wait_s`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        # The failure first: it is almost always absent, so every run reads a missing object (404 only with
        # s3:ListBucket), and a role lacking that grant fails every time, not only when the answer is slow.
        for location, is_failure in ((failure, True), (output, False)):
            bucket, _, key = location.removeprefix("s3://").partition("/")
            try:
                data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                continue
            return data.decode(errors="replace") if is_failure else data
        time.sleep(POLL_INTERVAL_S)
    return None
