"""Data capture files as SageMaker writes them: records buffered per variant and written one object per window,
`inferenceTime` to the second in UTC, the caller's `inferenceId`, and nothing lost when the local AWS stops."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from local_aws import processes
from local_aws.config import LocalAwsConfig
from local_aws.runtime.capture import DataCapture, Exchange
from tests.conftest import RunningLocalAws, started_local_aws
from tests.local_aws.strict_account import StrictAccount

CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
    "DestinationS3Uri": "s3://bucket/capture",
}
# "Capture data from real-time endpoint": s3://{destination}/{endpoint-name}/{variant-name}/yyyy/mm/dd/hh/
# {mm-ss-SSS}-{uuid}.jsonl, and "inferenceTime":"2022-02-14T17:25:49Z" in its records.
KEY = re.compile(r"^capture/e/v/\d{4}/\d\d/\d\d/\d\d/\d\d-\d\d-\d{3}-[0-9a-f-]{36}\.jsonl$")
INFERENCE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ROW = "0," * 63 + "0"


class RecordingS3:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> None:
        self.puts.append(kwargs)

    def records(self, index: int = 0) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.puts[index]["Body"].decode().splitlines()]


def exchange(variant: str = "v", inference_id: str | None = None, request_type: str = "text/csv") -> Exchange:
    return Exchange("e", variant, request_type, b"1,2", "application/json", b'{"predictions": []}', inference_id)


def test_several_invocations_land_as_the_lines_of_one_object_per_variant() -> None:
    s3 = RecordingS3()
    capture = DataCapture(s3, window_s=3600)

    for _ in range(3):
        capture.offer(CAPTURE, exchange())
    capture.offer(CAPTURE, exchange(variant="Shadow"))
    assert s3.puts == []  # buffered until the window closes
    capture.drain()

    by_key = {put["Key"]: put for put in s3.puts}
    assert len(by_key) == 2
    (mine,) = [key for key in by_key if "/e/v/" in key]
    assert KEY.match(mine), mine
    assert by_key[mine]["Body"].decode().count("\n") == 3
    assert all(line.endswith("}") for line in by_key[mine]["Body"].decode().splitlines())


def test_a_window_is_written_once_it_closes_without_being_asked() -> None:
    s3 = RecordingS3()
    capture = DataCapture(s3, window_s=0.2)

    capture.offer(CAPTURE, exchange())
    capture.offer(CAPTURE, exchange())
    for _ in range(50):
        if s3.puts:
            break
        time.sleep(0.1)

    assert len(s3.puts) == 1
    assert len(s3.records()) == 2
    capture.offer(CAPTURE, exchange())  # the next window is a new object
    capture.drain()
    assert len(s3.puts) == 2


def test_the_window_comes_from_the_local_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_AWS_CAPTURE_WINDOW_S", "7.5")

    assert DataCapture(RecordingS3()).window_s == 7.5


def test_inference_id_is_kept_when_given_and_absent_otherwise_and_time_is_to_the_second() -> None:
    s3 = RecordingS3()
    capture = DataCapture(s3, window_s=3600)

    capture.offer(CAPTURE, exchange(inference_id="order-17"))
    capture.offer(CAPTURE, exchange())
    capture.drain()

    given, absent = s3.records()
    assert given["eventMetadata"]["inferenceId"] == "order-17"
    assert "inferenceId" not in absent["eventMetadata"]
    for record in (given, absent):
        assert INFERENCE_TIME.match(record["eventMetadata"]["inferenceTime"])
        assert record["eventVersion"] == "0"


@pytest.mark.parametrize(
    ("content_type", "encoding", "data"),
    [
        ("text/csv", "CSV", "1,2"),
        ("text/csv; charset=utf-8", "CSV", "1,2"),
        ("application/json", "JSON", "1,2"),
        ("application/jsonlines", "BASE64", "MSwy"),
    ],
)
def test_the_encoding_follows_the_capture_content_type_header(content_type: str, encoding: str, data: str) -> None:
    s3 = RecordingS3()
    capture = DataCapture(s3, window_s=3600)
    both = {**CAPTURE, "CaptureOptions": [{"CaptureMode": "InputAndOutput"}]}

    capture.offer(both, exchange(request_type=content_type))
    capture.drain()

    (record,) = s3.records()
    assert record["captureData"]["endpointInput"] == {
        "observedContentType": content_type,
        "mode": "INPUT",
        "data": data,
        "encoding": encoding,
    }
    assert record["captureData"]["endpointOutput"]["encoding"] == "JSON"


def test_no_capture_header_means_base64() -> None:
    s3 = RecordingS3()
    capture = DataCapture(s3, window_s=3600)

    capture.offer({key: value for key, value in CAPTURE.items() if key != "CaptureContentTypeHeader"}, exchange())
    capture.drain()

    (record,) = s3.records()
    assert {part["encoding"] for part in record["captureData"].values()} == {"BASE64"}


def test_down_stops_the_runtime_before_the_control_plane(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The runtime writes its buffered records to the control plane's S3 as it stops."""
    stopped: list[int] = []
    monkeypatch.setattr(processes, "read_pids", lambda config: {"control-plane": 1, "runtime": 2})
    monkeypatch.setattr(processes, "alive", lambda pid: True)
    monkeypatch.setattr(processes, "_terminate", stopped.append)

    names = processes.stop(LocalAwsConfig(control_port=1, runtime_port=2, state_dir=tmp_path))

    assert stopped == [2, 1]
    assert names == ["control-plane", "runtime"]  # reported in the order `up` started them


def test_records_of_a_long_window_are_written_when_the_runtime_is_stopped(
    tmp_path_factory: pytest.TempPathFactory, artifact_dir: Path
) -> None:
    with started_local_aws(tmp_path_factory.mktemp("capture"), LOCAL_AWS_CAPTURE_WINDOW_S="3600") as running:
        account = StrictAccount.with_artifact(running, artifact_dir / "model.tar.gz", "capture")
        destination = f"s3://{account.bucket}/capture"
        config = account.config(account.model(), DataCaptureConfig={**CAPTURE, "DestinationS3Uri": destination})
        endpoint = account.endpoint(config)["EndpointName"]
        runtime = account.client("sagemaker-runtime")
        for number in range(3):
            runtime.invoke_endpoint(
                EndpointName=endpoint, ContentType="text/csv", Body=ROW, InferenceId=f"request-{number}"
            )
        assert _keys(running, account.bucket) == []  # still buffered: the window is an hour

        _stop_runtime_as_down_does(running)

        (key,) = _keys(running, account.bucket)
        body = account.client("s3").get_object(Bucket=account.bucket, Key=key)["Body"].read().decode()
        records = [json.loads(line) for line in body.splitlines()]
        assert sorted(record["eventMetadata"]["inferenceId"] for record in records) == [
            "request-0",
            "request-1",
            "request-2",
        ]


def _stop_runtime_as_down_does(running: RunningLocalAws) -> None:
    pid = processes.read_pids(running.config)["runtime"]
    os.killpg(pid, signal.SIGTERM)
    for _ in range(100):
        if not processes.alive(pid):
            return
        time.sleep(0.1)
    raise AssertionError("the runtime did not stop")


def _keys(running: RunningLocalAws, bucket: str) -> list[str]:
    listed = running.client("s3").list_objects_v2(Bucket=bucket, Prefix="capture/")
    return [item["Key"] for item in listed.get("Contents", [])]
