"""The monitor as the processing job runs it: drift on shifted traffic, none on the training kind, and bad input."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from monitoring.metrics import DRIFT, MAX_DISTANCE_PSI, NAMESPACE, OUTLIER_SHARE, ROWS, SHARE_PSI
from monitoring.processing import analyse_folder, main
from tests.conftest import REPO_ROOT
from tests.monitoring.traffic import (
    ENDPOINT,
    VARIANT,
    WHEN,
    exchanges,
    in_distribution,
    make_build,
    shifted,
    write_capture,
)
from wire.media_types import CSV, JSON, JSONLINES, PROTOBUF

WINDOW = ["--start", "2026-12-01T10:00:00Z", "--end", "2026-12-01T11:00:00Z"]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_build(tmp_path_factory.mktemp("build") / "build")


@pytest.fixture(scope="module")
def other_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_build(tmp_path_factory.mktemp("other") / "build", "--clusters", "12", "--seed", "4")


def run(tmp_path: Path, build: Path, *extra: str) -> tuple[int, dict[str, Any] | None]:
    code = main(
        ["--capture", str(tmp_path / "capture"), "--baseline", str(build), "--report", str(tmp_path / "report"),
         "--endpoint", ENDPOINT, "--variant", VARIANT, *WINDOW, *extra]
    )  # fmt: skip
    report = tmp_path / "report" / "report.json"
    return code, json.loads(report.read_text()) if report.exists() else None


def test_in_distribution_traffic_is_no_drift(tmp_path: Path, build: Path) -> None:
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(3000)))

    code, report = run(tmp_path, build)

    assert code == 0
    assert report is not None
    variant = report["variants"][VARIANT]
    assert (variant["verdict"], variant["rows"], variant["requests"]) == ("no drift", 3000, 30)
    assert variant["share_psi"] < 0.1
    assert variant["beyond_p99_share"] < 0.03
    assert variant["feature_rows"] == 200  # one request in twenty: the first of 30, and the 21st


def test_shifted_traffic_is_drift_and_says_why(tmp_path: Path, build: Path) -> None:
    write_capture(tmp_path / "capture", exchanges(build, shifted(3000)))

    code, report = run(tmp_path, build)

    assert code == 1
    assert report is not None
    variant = report["variants"][VARIANT]
    assert variant["verdict"] == "drift"
    assert variant["beyond_p99_share"] > 0.5
    assert any("beyond their cluster's baseline p99" in reason for reason in variant["reasons"])
    assert variant["features_moved"]
    assert variant["features_moved"][0]["effect_size"] is not None


def test_a_few_shifted_rows_among_many_are_below_the_thresholds_and_a_lower_threshold_catches_them(
    tmp_path: Path, build: Path
) -> None:
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(2900)) + exchanges(build, shifted(100)))

    assert run(tmp_path, build)[0] == 0
    assert run(tmp_path, build, "--max-outlier-share", "0.02")[0] == 1


def test_a_moderate_move_is_a_warning_not_drift(tmp_path: Path, build: Path) -> None:
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(3000)))

    quiet, loud = run(tmp_path, build), run(tmp_path, build, "--psi-warn", "0.001")

    assert (quiet[0], loud[0]) == (0, 0)
    assert quiet[1] is not None
    assert loud[1] is not None
    assert quiet[1]["variants"][VARIANT]["warnings"] == []
    assert loud[1]["variants"][VARIANT]["warnings"]  # sampling noise alone moves a PSI past 0.001


@pytest.mark.parametrize(
    ("request_type", "answer_type"), [(JSON, JSONLINES), (JSONLINES, CSV), (PROTOBUF, PROTOBUF), (CSV, JSON)]
)
def test_every_request_and_answer_type_the_runtime_takes_is_read(
    tmp_path: Path, build: Path, request_type: str, answer_type: str
) -> None:
    traffic = exchanges(build, in_distribution(1200), request_type=request_type, answer_type=answer_type)
    write_capture(tmp_path / "capture", traffic)

    code, report = run(tmp_path, build, "--feature-sample-every", "1")

    assert code == 0
    assert report is not None
    assert report["variants"][VARIANT]["rows"] == 1200
    assert report["variants"][VARIANT]["feature_rows"] == 1200


def test_base64_captures_read_the_same_as_text_ones(tmp_path: Path, build: Path) -> None:
    binary = {"CaptureContentTypeHeader": {}, "CaptureOptions": [{"CaptureMode": "InputAndOutput"}]}
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)), config=binary)

    code, report = run(tmp_path, build, "--feature-sample-every", "1")

    assert code == 0
    assert report is not None
    assert (report["variants"][VARIANT]["rows"], report["variants"][VARIANT]["feature_rows"]) == (1000, 1000)


def test_records_outside_the_window_are_not_counted(tmp_path: Path, build: Path) -> None:
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)))
    write_capture(tmp_path / "capture", exchanges(build, shifted(1000)), when=WHEN + dt.timedelta(hours=2))

    code, report = run(tmp_path, build)

    assert code == 0
    assert report is not None
    assert report["variants"][VARIANT]["rows"] == 1000


# --- bad input: one line, the right exit code, no traceback, no report ---------------------------------------


def assert_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, result: tuple[int, Any], code: int, words: str
) -> None:
    err = capsys.readouterr().err
    assert result == (code, None)
    assert err.count("\n") == 1, err
    assert words in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "report").exists() or not list((tmp_path / "report").iterdir())


def test_a_truncated_capture_file_is_refused_naming_the_file_and_line(
    tmp_path: Path, build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)))
    path.write_bytes(path.read_bytes()[:-5000])

    assert_refused(capsys, tmp_path, run(tmp_path, build), 3, f"{path} line 10: not a JSON capture record")


def test_a_file_of_another_format_is_refused(tmp_path: Path, build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)))
    path.write_text("1.0,2.0,3.0\n4.0,5.0,6.0\n")

    assert_refused(capsys, tmp_path, run(tmp_path, build), 3, f"{path} line 1: not a JSON capture record")


def test_a_record_whose_answer_is_not_the_containers_is_refused(
    tmp_path: Path, build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)))
    path.write_text(path.read_text().replace('\\"closest_cluster\\"', '\\"label\\"'))

    assert_refused(capsys, tmp_path, run(tmp_path, build), 3, "line 1: malformed application/json answer")


def test_capture_files_of_another_endpoint_are_refused(
    tmp_path: Path, build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)))
    other = tmp_path / "capture" / "OtherEndpoint" / path.relative_to(tmp_path / "capture" / ENDPOINT)
    other.parent.mkdir(parents=True)
    path.rename(other)

    assert_refused(
        capsys, tmp_path, run(tmp_path, build), 3, f"a capture file of endpoint OtherEndpoint, not of {ENDPOINT}"
    )


def test_traffic_of_a_model_with_more_clusters_is_refused(
    tmp_path: Path, build: Path, other_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_capture(tmp_path / "capture", exchanges(other_build, shifted(2000)))

    assert_refused(capsys, tmp_path, run(tmp_path, build), 3, "traffic of another model?")


def test_a_window_with_no_files_is_nothing_to_read(
    tmp_path: Path, build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)), when=WHEN + dt.timedelta(hours=3))

    assert_refused(capsys, tmp_path, run(tmp_path, build), 3, f"{ENDPOINT}/{VARIANT}: no capture files in the window")


def test_a_baseline_of_another_model_is_refused(
    tmp_path: Path, build: Path, other_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(1000)))
    deployed = json.loads((build / "manifest.json").read_text())["artifact_sha256"]

    result = run(tmp_path, other_build, "--artifact-sha256", deployed)

    assert_refused(capsys, tmp_path, result, 2, f"but the endpoint serves {deployed[:12]}")


def test_a_missing_baseline_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(capsys, tmp_path, run(tmp_path, tmp_path / "nowhere"), 2, "cannot read the baseline")


def test_the_entry_point_runs_as_a_module_with_one_line_on_error(tmp_path: Path, build: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitoring.processing", "--capture", str(tmp_path), "--baseline", str(build),
         "--report", str(tmp_path / "r"), "--endpoint", ENDPOINT, "--variant", VARIANT, "--since", "1h"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert "no capture files in the window" in result.stderr


def test_a_quiet_variant_is_reported_as_such_beside_one_with_traffic(tmp_path: Path, build: Path) -> None:
    write_capture(tmp_path / "capture", exchanges(build, shifted(1000)))

    code, report = run(tmp_path, build, "--variant", "Shadow")

    assert code == 1
    assert report is not None
    assert list(report["variants"]) == [VARIANT]
    assert report["nothing_in_window"] == {"Shadow": f"{ENDPOINT}/Shadow: no capture files in the window"}


def test_the_figures_go_to_cloudwatch_per_endpoint_and_variant(
    tmp_path: Path, build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    write_capture(tmp_path / "capture", exchanges(build, shifted(1000)))

    with mock_aws():
        code, _ = run(tmp_path, build, "--variant", "Shadow", "--namespace", NAMESPACE)
        listed = boto3.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]

    published = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed}
    dimensions = (("EndpointName", ENDPOINT), ("VariantName", VARIANT))
    assert code == 1
    assert {(name, dimensions) for name in (SHARE_PSI, OUTLIER_SHARE, MAX_DISTANCE_PSI, ROWS, DRIFT)} <= published
    assert (ROWS, (("EndpointName", ENDPOINT), ("VariantName", "Shadow"))) in published
    assert (SHARE_PSI, (("EndpointName", ENDPOINT), ("VariantName", "Shadow"))) not in published


def test_a_window_with_nothing_to_read_still_publishes_zero_rows(
    tmp_path: Path, build: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The heartbeat alarm counts RowsAnalysed datapoints: a quiet endpoint is not a broken monitor."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        code, report = run(tmp_path, build, "--namespace", NAMESPACE)
        listed = boto3.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert (code, report) == (3, None)
    assert "no capture files in the window" in capsys.readouterr().err
    assert [m["MetricName"] for m in listed] == [ROWS]


def test_workers_side_by_side_give_the_figures_of_one_reader(tmp_path: Path, build: Path) -> None:
    for minute in range(4):
        traffic = exchanges(build, in_distribution(500, seed=minute)) + exchanges(build, shifted(100, seed=minute))
        write_capture(tmp_path / "capture", traffic, when=WHEN + dt.timedelta(minutes=minute))

    one, two = (
        analyse_folder(tmp_path / "capture", build, endpoint=ENDPOINT, variant=VARIANT, window=None, workers=workers)
        for workers in (1, 3)
    )

    assert one["rows"] == two["rows"] == 2400
    assert two["files"] == 4
    for key in ("share_psi", "beyond_p99_share", "verdict", "reasons", "clusters"):
        assert one[key] == two[key], key


# --- the scheduled job reads its window from S3, not the endpoint's history ---------------------------------------


@mock_aws
def test_a_run_copies_only_its_windows_hours_and_the_hour_after_and_ends_lag_early(
    tmp_path: Path, build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "written"
    # History (hours before), the window's hour, a late record (in the window, filed under the next hour), after.
    write_capture(local, exchanges(build, shifted(500)), when=WHEN - dt.timedelta(hours=5))
    write_capture(local, exchanges(build, in_distribution(1000)), when=WHEN)
    late = write_capture(local, exchanges(build, in_distribution(200)), when=WHEN + dt.timedelta(minutes=29))
    next_hour = late.parent.parent / f"{int(late.parent.name) + 1:02d}" / late.name
    next_hour.parent.mkdir(parents=True, exist_ok=True)
    late.replace(next_hour)
    write_capture(local, exchanges(build, shifted(500)), when=WHEN + dt.timedelta(hours=3))
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="capture-bucket")
    listed: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: listed.append(params["Prefix"])
    )
    for path in sorted(local.rglob("*.jsonl")):
        s3.put_object(
            Bucket="capture-bucket", Key=f"capture/{path.relative_to(local).as_posix()}", Body=path.read_bytes()
        )
    monkeypatch.setattr(boto3, "client", lambda *_, **__: s3)  # the job's client: its listings are seen

    # Scheduled at 11:15 for the hour: with the 15-minute lag the window is 10:00 .. 11:00.
    code = main(
        ["--capture", str(tmp_path / "capture"), "--capture-s3", f"s3://capture-bucket/capture/{ENDPOINT}/",
         "--baseline", str(build), "--report", str(tmp_path / "report"), "--endpoint", ENDPOINT, "--variant", VARIANT,
         "--end", "2026-12-01T11:15:00Z", "--since", "3600s", "--lag", "900s"]
    )  # fmt: skip

    assert code == 0  # the shifted history and the later hours are not read
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["window"] == {"start": "2026-12-01T10:00:00+00:00", "end": "2026-12-01T11:00:00+00:00"}
    assert report["variants"][VARIANT]["rows"] == 1200  # the late record's rows counted
    assert listed == [f"capture/{ENDPOINT}/{VARIANT}/2026/12/01/10/", f"capture/{ENDPOINT}/{VARIANT}/2026/12/01/11/"]
    copied = sorted(
        path.relative_to(tmp_path / "capture").parts[1:5] for path in (tmp_path / "capture").rglob("*.jsonl")
    )
    assert copied == [("2026", "12", "01", "10"), ("2026", "12", "01", "11")]


@mock_aws
def test_a_capture_s3_uri_that_s3_refuses_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, build: Path
) -> None:
    code = main(
        ["--capture", str(tmp_path / "capture"), "--capture-s3", "s3://no-such-bucket/capture/x/",
         "--baseline", str(build), "--report", str(tmp_path / "report"), "--endpoint", ENDPOINT, "--variant", VARIANT,
         *WINDOW]
    )  # fmt: skip
    assert code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "NoSuchBucket" in err
    assert not (tmp_path / "report").exists()
