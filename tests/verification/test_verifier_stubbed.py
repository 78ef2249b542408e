"""Every check and exit code of the verifier, with botocore's Stubber standing in for AWS."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from tqdm import tqdm

from model_build.reference import ReferenceSet
from verification import checks, cli
from verification.errors import ExitCode

ENDPOINT = "KMeansEndpoint"
CONFIG = "KMeansEndpoint-Config-1"
MODEL = "KMeansEndpoint-Model-1"
MODEL_URL = "s3://assets/model.tar.gz"
ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
CREATED = "2026-01-01T00:00:00Z"


class FakeAws:
    """Stubbed clients for one verification run; tests queue responses in the order calls happen."""

    def __init__(self) -> None:
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        self.clients = {
            name: session.client(name) for name in ("cloudformation", "sagemaker", "s3", "sagemaker-runtime")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def stack(self, status: str = "CREATE_COMPLETE", outputs: dict[str, str] | None = None, times: int = 1) -> None:
        declared = outputs or {"EndpointName": ENDPOINT, "EndpointConfigName": CONFIG, "ModelName": MODEL}
        stack = {
            "StackName": ENDPOINT,
            "StackStatus": status,
            "CreationTime": "2026-01-01T00:00:00Z",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in declared.items()],
        }
        for _ in range(times):
            self.stubs["cloudformation"].add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": ENDPOINT})

    def endpoint(self, status: str = "InService", config: str = CONFIG, reason: str | None = None) -> None:
        described = {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
            "EndpointConfigName": config,
            "EndpointStatus": status,
            "CreationTime": "2026-01-01T00:00:00Z",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
            **({"FailureReason": reason} if reason else {}),
        }
        self.stubs["sagemaker"].add_response("describe_endpoint", described, {"EndpointName": ENDPOINT})

    def model(self, artifact: bytes, variants: tuple[str, ...] = ("AllTraffic",)) -> None:
        production = [{"VariantName": v, "ModelName": MODEL, "InstanceType": "ml.m5.large"} for v in variants]
        config = {
            "EndpointConfigName": CONFIG,
            "EndpointConfigArn": f"{ARN_PREFIX}:endpoint-config/{CONFIG}",
            "ProductionVariants": production,
            "CreationTime": CREATED,
        }
        self.stubs["sagemaker"].add_response("describe_endpoint_config", config, {"EndpointConfigName": CONFIG})
        model = {
            "ModelName": MODEL,
            "ModelArn": f"{ARN_PREFIX}:model/{MODEL}",
            "CreationTime": CREATED,
            "PrimaryContainer": {"ModelDataUrl": MODEL_URL},
        }
        for _ in variants:
            self.stubs["sagemaker"].add_response("describe_model", model, {"ModelName": MODEL})
            self.stubs["s3"].add_response(
                "get_object",
                {"Body": StreamingBody(io.BytesIO(artifact), len(artifact))},
                {"Bucket": "assets", "Key": "model.tar.gz"},
            )

    def answers(self, closest: np.ndarray[Any, Any], distances: np.ndarray[Any, Any], calls: int) -> None:
        body = json.dumps(
            {
                "predictions": [
                    {"closest_cluster": float(c), "distance_to_cluster": float(d)}
                    for c, d in zip(closest, distances, strict=True)
                ]
            }
        ).encode()
        for _ in range(calls):
            self.stubs["sagemaker-runtime"].add_response(
                "invoke_endpoint",
                {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
                {"EndpointName": ENDPOINT, "TargetVariant": ANY, "ContentType": ANY, "Accept": ANY, "Body": ANY},
            )

    def __enter__(self) -> FakeAws:
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stub in self.stubs.values():
            stub.deactivate()

    def assert_all_used(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def build(artifact_dir: Path) -> Path:
    return artifact_dir


@pytest.fixture
def reference(build: Path) -> ReferenceSet:
    return ReferenceSet.from_npz_bytes((build / "reference.npz").read_bytes())


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    with FakeAws() as aws:
        monkeypatch.setattr(cli, "_clients", lambda: aws.clients)
        monkeypatch.setattr(checks, "POLL_INTERVAL_S", 0.01)
        yield aws


def run(build: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(
        ["--reference", str(build), "--content-types", "text/csv", "--json", str(tmp_path / "r.json"), *extra]
    )
    return code, json.loads((tmp_path / "r.json").read_text())


def test_a_faithful_endpoint_passes(fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path) -> None:
    fake.stack()
    fake.endpoint()
    fake.model((build / "model.tar.gz").read_bytes())
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)

    code, report = run(build, tmp_path, "--junit", str(tmp_path / "r.xml"))

    assert code == ExitCode.PASSED
    assert [c["name"] for c in report["checks"]] == [
        "stack complete", "endpoint in service", "declared endpoint config", "deployed artifact",
        "predictions AllTraffic text/csv",
    ]  # fmt: skip
    assert report["checks"][-1]["metric"] == "euclidean"
    assert set(report["latency"]["AllTraffic"]) == {"p50_ms", "p95_ms", "max_ms"}
    suite = ElementTree.parse(tmp_path / "r.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("5", "0")
    fake.assert_all_used()


def test_squared_distances_pass_and_are_reported(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    fake.stack()
    fake.endpoint()
    fake.model((build / "model.tar.gz").read_bytes())
    fake.answers(reference.closest_cluster, reference.distance_to_cluster**2, calls=1)

    code, report = run(build, tmp_path)

    assert code == ExitCode.PASSED
    assert report["checks"][-1]["metric"] == "squared euclidean"


def test_wrong_clusters_exit_1_with_the_rows(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stack()
    fake.endpoint()
    fake.model((build / "model.tar.gz").read_bytes())
    wrong = reference.closest_cluster.copy()
    wrong[[3, 7]] = (wrong[[3, 7]] + 1) % 10
    fake.answers(wrong, reference.distance_to_cluster, calls=1)

    code, report = run(build, tmp_path)

    assert code == ExitCode.PREDICTION_MISMATCH
    assert [m["row"] for m in report["checks"][-1]["mismatches"]] == [3, 7]
    assert "mismatching rows" in capsys.readouterr().out


def test_another_artifact_with_the_same_answers_exits_4(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    fake.stack()
    fake.endpoint()
    fake.model(b"repackaged elsewhere")
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)

    code, report = run(build, tmp_path)

    assert code == ExitCode.ARTIFACT_DIFFERS
    assert report["checks"][3]["passed"] is False
    assert hashlib.sha256(b"repackaged elsewhere").hexdigest()[:12] in report["checks"][3]["detail"]


def test_a_rolled_back_stack_exits_3(fake: FakeAws, build: Path, tmp_path: Path) -> None:
    fake.stack(status="UPDATE_ROLLBACK_COMPLETE")
    code, report = run(build, tmp_path)
    assert code == ExitCode.NOT_READY
    assert "UPDATE_ROLLBACK_COMPLETE, not a completed deploy" in report["stopped"]


def test_a_failed_endpoint_exits_3_with_its_failure_reason(fake: FakeAws, build: Path, tmp_path: Path) -> None:
    fake.stack()
    fake.endpoint(status="Failed", reason="could not access model data")
    code, report = run(build, tmp_path)
    assert code == ExitCode.NOT_READY
    assert report["stopped"] == f"endpoint {ENDPOINT} is Failed: could not access model data"


def test_a_silent_rollback_to_another_config_exits_3(fake: FakeAws, build: Path, tmp_path: Path) -> None:
    fake.stack()
    fake.endpoint(config="KMeansEndpoint-Config-0")
    code, report = run(build, tmp_path)
    assert code == ExitCode.NOT_READY
    assert "SageMaker rolled the update back; FailureReason: no FailureReason given" in report["stopped"]


def test_a_rollback_prints_the_failure_reason(fake: FakeAws, build: Path, tmp_path: Path) -> None:
    fake.stack()
    fake.endpoint(config="KMeansEndpoint-Config-0", reason="Failed to extract model data archive")
    code, report = run(build, tmp_path)
    assert code == ExitCode.NOT_READY
    assert report["stopped"].endswith("FailureReason: Failed to extract model data archive")


@pytest.mark.parametrize("status", ["OutOfService", "UpdateRollbackFailed", "Deleting"])
def test_a_status_waiting_cannot_fix_stops_at_once(fake: FakeAws, build: Path, tmp_path: Path, status: str) -> None:
    fake.stack()
    fake.endpoint(status=status)  # one describe: no waiting for the --wait of 600 s
    code, report = run(build, tmp_path)
    assert code == ExitCode.NOT_READY
    assert report["stopped"] == f"endpoint {ENDPOINT} is {status}: no FailureReason given"
    fake.assert_all_used()


def test_the_verifier_waits_through_updating_and_rolling_back(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    fake.stack()
    for status in ("Updating", "RollingBack", "InService"):
        fake.endpoint(status=status)
    fake.model((build / "model.tar.gz").read_bytes())
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)
    code, _ = run(build, tmp_path)
    assert code == ExitCode.PASSED
    fake.assert_all_used()


def test_an_endpoint_still_updating_after_wait_exits_3(fake: FakeAws, build: Path, tmp_path: Path) -> None:
    fake.stack()
    fake.endpoint(status="Updating")
    code, report = run(build, tmp_path, "--wait", "0")
    assert code == ExitCode.NOT_READY
    assert report["stopped"] == f"endpoint {ENDPOINT} is still Updating after --wait 0 s"


def test_an_access_denied_exits_3_naming_the_code(fake: FakeAws, build: Path, tmp_path: Path) -> None:
    message = "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: sagemaker:DescribeEndpoint"
    fake.stack()
    fake.stubs["sagemaker"].add_client_error("describe_endpoint", "AccessDeniedException", message)
    code, report = run(build, tmp_path)
    assert code == ExitCode.NOT_READY
    assert report["stopped"] == f"endpoint {ENDPOINT}: AccessDeniedException: {message}"


def test_every_variant_is_checked_separately(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    fake.stack()
    fake.endpoint()
    fake.model((build / "model.tar.gz").read_bytes(), variants=("blue", "green"))
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=2)

    code, report = run(build, tmp_path)

    assert code == ExitCode.PASSED
    assert {c["name"] for c in report["checks"]} >= {"predictions blue text/csv", "predictions green text/csv"}
    assert set(report["latency"]) == {"blue", "green"}


def test_outputs_file_skips_the_stack_check(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"KMeansEndpoint": {"EndpointName": ENDPOINT, "EndpointConfigName": CONFIG}}))
    fake.endpoint()
    fake.model((build / "model.tar.gz").read_bytes())
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)

    code, report = run(build, tmp_path, "--outputs-file", str(outputs))

    assert code == ExitCode.PASSED
    assert report["checks"][0]["name"] == "endpoint in service"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reference", "/nonexistent"], "/nonexistent: no usable manifest.json and reference.npz"),
        (["--outputs-file", "/nonexistent.json"], "/nonexistent.json: cannot read outputs"),
        (["--content-types", "text/xml"], "--content-types: ['text/xml'] not among"),
    ],
)
def test_usage_errors_exit_2(build: Path, tmp_path: Path, args: list[str], message: str) -> None:
    full = ["--reference", str(build), *args, "--json", str(tmp_path / "r.json")]
    assert cli.main(full) == ExitCode.USAGE
    assert message in json.loads((tmp_path / "r.json").read_text())["stopped"]


def test_an_unknown_option_exits_2() -> None:
    assert cli.main(["--no-such-option"]) == ExitCode.USAGE


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def faithful(fake: FakeAws, build: Path, reference: ReferenceSet) -> FakeAws:
    """An endpoint that answers exactly as the reference set says."""
    fake.stack()
    fake.endpoint()
    fake.model((build / "model.tar.gz").read_bytes())
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)
    return fake


@pytest.mark.parametrize("on_terminal", [True, False])
def test_progress_is_drawn_only_on_a_terminal_and_cleared_when_its_check_ends(
    faithful: FakeAws, build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_terminal: bool
) -> None:
    screen = Terminal() if on_terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(cli, "tqdm", lambda *args, **options: tqdm(*args, **{**options, "delay": 0}))

    code, _ = run(build, tmp_path)

    assert code == ExitCode.PASSED
    drawn = screen.getvalue()
    if on_terminal:
        assert "B/s" in drawn or "%|" in drawn or "B [" in drawn, drawn
        assert drawn.rsplit("\r", 1)[-1].strip() == "", "the bar is cleared, not left on the line"
    else:
        assert drawn == ""


def slowed(function: Any, seconds: float, started: threading.Event | None = None) -> Any:
    def slow(*args: Any, **kwargs: Any) -> Any:
        if started is not None:
            started.set()
        time.sleep(seconds)
        return function(*args, **kwargs)

    return slow


def test_each_check_reports_how_long_it_took(
    faithful: FakeAws, build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("endpoint_in_service", "deployed_artifacts", "predictions"):
        monkeypatch.setattr(cli, name, slowed(getattr(cli, name), 0.05))

    code, report = run(build, tmp_path, "--junit", str(tmp_path / "r.xml"))

    assert code == ExitCode.PASSED
    durations = {check["name"]: check["duration_s"] for check in report["checks"]}
    assert len(durations) == 5
    assert all(isinstance(seconds, float) and seconds >= 0 for seconds in durations.values())
    slow = ("endpoint in service", "deployed artifact", "predictions AllTraffic text/csv")
    assert all(durations[name] >= 0.05 for name in slow), durations
    times = {case.get("name"): float(case.get("time", "0")) for case in ElementTree.parse(tmp_path / "r.xml").iter()}
    assert all(times[name] >= 0.05 for name in slow), times


def test_the_artifact_downloads_while_the_predictions_run(
    faithful: FakeAws, build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predicting, overlapped = threading.Event(), []

    def download(*args: Any) -> Any:
        overlapped.append(predicting.wait(timeout=5))
        return checks.deployed_artifacts(*args)

    monkeypatch.setattr(cli, "predictions", slowed(checks.predictions, 0.0, started=predicting))
    monkeypatch.setattr(cli, "deployed_artifacts", download)

    code, report = run(build, tmp_path)

    assert code == ExitCode.PASSED
    assert overlapped == [True]
    assert [c["name"] for c in report["checks"]][-2:] == ["deployed artifact", "predictions AllTraffic text/csv"]


def served_config(fake: FakeAws) -> None:
    """The endpoint's config alone (no model or artifact behind it queued)."""
    config = {
        "EndpointConfigName": CONFIG,
        "EndpointConfigArn": f"{ARN_PREFIX}:endpoint-config/{CONFIG}",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": MODEL, "InstanceType": "ml.m5.large"}],
        "CreationTime": CREATED,
    }
    fake.stubs["sagemaker"].add_response("describe_endpoint_config", config, {"EndpointConfigName": CONFIG})


def test_a_denied_artifact_download_stops_the_run_before_any_prediction_is_reported(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    fake.stack()
    fake.endpoint()
    served_config(fake)
    model = {
        "ModelName": MODEL,
        "ModelArn": f"{ARN_PREFIX}:model/{MODEL}",
        "CreationTime": CREATED,
        "PrimaryContainer": {"ModelDataUrl": MODEL_URL},
    }
    fake.stubs["sagemaker"].add_response("describe_model", model, {"ModelName": MODEL})
    fake.stubs["s3"].add_client_error("get_object", "AccessDenied", "not authorized to perform: s3:GetObject")
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)

    code, report = run(build, tmp_path)

    assert code == ExitCode.NOT_READY
    assert "AccessDenied" in report["stopped"]
    assert not any(check["name"].startswith("predictions") for check in report["checks"])


def test_the_candidate_gate_passes_when_live_labels_as_the_candidate(
    fake: FakeAws, build: Path, reference: ReferenceSet, tmp_path: Path
) -> None:
    fake.stack()
    fake.endpoint()
    served_config(fake)
    fake.answers(reference.closest_cluster, reference.distance_to_cluster, calls=1)

    code = cli.main(["--candidate", str(build), "--json", str(tmp_path / "r.json")])

    report = json.loads((tmp_path / "r.json").read_text())
    assert code == ExitCode.PASSED, report
    names = [check["name"] for check in report["checks"]]
    assert names[-2:] == ["candidate agreement", "candidate keeps live ids"]
    assert report["checks"][-2]["duration_s"] > 0
    fake.assert_all_used()


def test_a_build_that_cannot_load_is_reported_before_a_missing_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    code = cli.main(["--reference", str(tmp_path / "missing"), "--json", str(tmp_path / "r.json")])

    assert code == ExitCode.USAGE
    assert (
        "missing: no usable manifest.json and reference.npz" in json.loads((tmp_path / "r.json").read_text())["stopped"]
    )
