"""`python -m monitoring drift` against a stack, its endpoint config and capture objects the runtime's writer put in S3.

AWS is moto in process; the capture objects are written by the local runtime's own DataCapture (the class the
runtime runs), so the monitor reads exactly what the local AWS writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_aws.runtime.capture import DataCapture, Exchange
from monitoring.cli import main
from tests.monitoring.traffic import CAPTURE_CONFIG, ENDPOINT, VARIANT, exchanges, in_distribution, make_build, shifted

# moto's CloudFormation does not model the one resource the stand-in template needs (outputs are what is read).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse")
STACK = "KMeansEndpoint"
ROLE = "arn:aws:iam::123456789012:role/execution"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_build(tmp_path_factory.mktemp("build") / "build")


@pytest.fixture(scope="module")
def other_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_build(tmp_path_factory.mktemp("other") / "build", "--seed", "6")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield {name: boto3.client(name) for name in ("cloudformation", "sagemaker", "s3")}


def deploy(aws: dict[str, Any], build: Path, *, capture: bool = True) -> None:
    """What the stack leaves: its outputs, the endpoint, its config (with data capture), the capture bucket."""
    sha = json.loads((build / "manifest.json").read_text())["artifact_sha256"]
    outputs = {"EndpointName": ENDPOINT, "ModelName": "model-1", "ArtifactSha256": sha}
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    aws["cloudformation"].create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    aws["sagemaker"].create_model(
        ModelName="model-1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "kmeans", "ModelDataUrl": "s3://a/m"}
    )
    variant = {"VariantName": VARIANT, "ModelName": "model-1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    extra = {"DataCaptureConfig": CAPTURE_CONFIG} if capture else {}
    aws["sagemaker"].create_endpoint_config(EndpointConfigName="config-1", ProductionVariants=[variant], **extra)
    aws["sagemaker"].create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="config-1")
    aws["s3"].create_bucket(Bucket="capture-bucket")


def capture(aws: dict[str, Any], traffic: list[Exchange]) -> None:
    """Offer each exchange to the runtime's DataCapture and wait until its objects are written."""
    writer = DataCapture(aws["s3"], window_s=3600)
    for exchange in traffic:
        writer.offer(CAPTURE_CONFIG, exchange)
    writer.drain()


def drift(*extra: str | Path) -> int:
    return main(["drift", "--stack", STACK, "--since", "1h", *map(str, extra)])


@pytest.mark.slow
def test_no_drift_on_training_like_traffic_and_drift_on_shifted_traffic(
    aws: dict[str, Any], build: Path, tmp_path: Path
) -> None:
    deploy(aws, build)
    capture(aws, exchanges(build, in_distribution(2000)))

    calm = drift("--baseline", build, "--json", tmp_path / "calm.json", "--picture", tmp_path / "calm.png")
    capture(aws, exchanges(build, shifted(2000)))
    moved = drift("--baseline", build, "--json", tmp_path / "moved.json")

    assert (calm, moved) == (0, 1)
    calm_report = json.loads((tmp_path / "calm.json").read_text())["variants"][VARIANT]
    moved_report = json.loads((tmp_path / "moved.json").read_text())["variants"][VARIANT]
    assert (calm_report["rows"], moved_report["rows"]) == (2000, 4000)
    assert moved_report["beyond_p99_share"] > 0.4
    assert calm_report["beyond_p99_share"] < 0.03
    assert (tmp_path / "calm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_another_endpoint_whose_name_starts_alike_is_not_read(aws: dict[str, Any], build: Path) -> None:
    deploy(aws, build)
    capture(aws, exchanges(build, in_distribution(1000)))
    staging = [
        Exchange(f"{ENDPOINT}-staging", e.variant, e.request_type, e.request, e.response_type, e.response)
        for e in exchanges(build, shifted(1000))
    ]
    capture(aws, staging)

    assert drift("--baseline", build) == 0


def refused(capsys: pytest.CaptureFixture[str], code: int, expected: int, words: str) -> None:
    err = capsys.readouterr().err
    assert code == expected, err
    assert err.count("\n") == 1, err
    assert words in err, err
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_baseline_of_another_model_than_the_endpoint_serves_is_refused(
    aws: dict[str, Any], build: Path, other_build: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy(aws, build)
    capture(aws, exchanges(build, in_distribution(1000)))

    code = drift("--baseline", other_build, "--json", tmp_path / "r.json")

    refused(capsys, code, 2, "a baseline of the model with sha256")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_a_window_without_capture_is_nothing_to_read(
    aws: dict[str, Any], build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build)

    refused(capsys, drift("--baseline", build), 3, "no capture files in the window")


@pytest.mark.slow
def test_an_endpoint_without_data_capture_is_nothing_to_read(
    aws: dict[str, Any], build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build, capture=False)

    refused(capsys, drift("--baseline", build), 3, "deploy the stack with -c data_capture=true")


@pytest.mark.slow
def test_a_missing_stack_and_an_unknown_variant_are_usage_errors(
    aws: dict[str, Any], build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, drift("--baseline", build), 2, f"stack {STACK} does not exist")
    deploy(aws, build)
    refused(capsys, drift("--baseline", build, "--variant", "Blue"), 2, "has no variant Blue (it has AllTraffic)")
