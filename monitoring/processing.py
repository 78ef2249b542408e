"""`python3 -m monitoring.processing`: the drift monitor as a SageMaker Processing job runs it.

The job runs on the region's prebuilt scikit-learn processing image (developer guide, "Run a Processing Job with
scikit-learn"; the image is built by aws/sagemaker-scikit-learn-container: at the time of writing, version 1.2-1
has Python 3.9, numpy 1.24, pandas 1.1, SciPy 1.8, scikit-learn 1.2, boto3 1.28, protobuf 3.20 and pyarrow (10.0.1,
then 14.0.1), its requirements.txt and docker/1.2-1/base/Dockerfile.cpu; AWS may rebuild the tag with other patch
versions). This entry point and what it imports use only Python 3.9's standard library, numpy, pyarrow and boto3,
and the project's packages
monitoring.layout.CODE_PACKAGES names (pure Python; they may be on PYTHONPATH as a zip):

    python3 -m monitoring.processing \\
        --capture /opt/ml/processing/capture            # the capture prefix, or one endpoint's folder
        --baseline /opt/ml/processing/input/baseline    # a folder holding baseline.json, or the file
        --report /opt/ml/processing/output/report       # report.json is written here (all or nothing)
        --endpoint NAME --variant AllTraffic [--variant Shadow ...]
        (--end 2026-12-01T17:00:00Z --since 3600s | --start T --end T)
        [--lag 900s]                                    # the window ends this long before --end (default 0s)
        [--capture-s3 s3://BUCKET/capture/NAME/]         # first copy the window's hour folders (and the hour
                                                        # after it, records written late) from here into --capture
        [--namespace kmeans-byom/Drift]                  # PutMetricData per variant (monitoring.metrics)
        [--artifact-sha256 SHA]                         # refuse a baseline of another artifact
        [--psi-drift 0.25 --max-outlier-share 0.05 ...] # thresholds, as `python -m monitoring drift`

Exit codes (monitoring.errors): 0 no drift, 1 drift in any variant, 2 usage or a baseline of another model,
3 nothing to read in the window for every variant, an unreadable capture file (or one of another endpoint), or AWS
refused PutMetricData. Errors are one line on stderr; no report is written then. A variant with nothing in the
window is listed in the report's `nothing_in_window` and publishes RowsAnalysed 0 only (also when every variant
is quiet and the job exits 3: the stack's heartbeat alarm tells a quiet endpoint from a monitor that did not run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from model_build.baseline import BaselineError, decode_baseline
from model_build.manifest import BASELINE_FILE_NAME
from monitoring.analysis import DRIFT, TOO_FEW_ROWS, AnalysisError, LiveStats, drift_report
from monitoring.errors import ExitCode, MonitorError, NothingInWindowError
from monitoring.metrics import ENDPOINT_DIMENSION, VARIANT_DIMENSION, metric_values
from monitoring.options import add_threshold_options, add_window_options, duration, thresholds_from, window_from
from monitoring.reading import (
    CaptureFileError,
    Reader,
    Source,
    Window,
    local_paths,
    path_sources,
)
from monitoring.settings import Thresholds

PROGRAM = "python3 -m monitoring.processing"
REPORT_FILE_NAME = "report.json"
LATE_HOURS = 1  # SageMaker files a record under the hour its buffer is written: one written late is in the next


def load_baseline(path: Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """baseline.json from a file or a folder; MonitorError (usage) when unreadable or of another artifact."""
    file = path / BASELINE_FILE_NAME if path.is_dir() else path
    try:
        baseline = decode_baseline(file.read_bytes(), str(file))
    except OSError as error:
        raise MonitorError(f"{file}: cannot read the baseline ({error.strerror})", ExitCode.USAGE) from error
    except BaselineError as error:
        raise MonitorError(str(error), ExitCode.USAGE) from error
    check_baseline_model(baseline, expected_sha256, str(file))
    return baseline


def check_baseline_model(baseline: dict[str, Any], expected_sha256: str | None, where: str) -> None:
    """Refuse a baseline computed for another artifact than the one deployed."""
    if expected_sha256 and baseline["artifact_sha256"] != expected_sha256:
        raise MonitorError(
            f"{where}: a baseline of the model with sha256 {baseline['artifact_sha256'][:12]}…, but the endpoint "
            f"serves {expected_sha256[:12]}…: give the build that was deployed",
            ExitCode.USAGE,
        )


def analyse(
    sources: Iterable[Source],
    baseline: dict[str, Any],
    window: Window | None,
    thresholds: Thresholds,
    name: str,
) -> dict[str, Any]:
    """One variant's report from its capture sources; MonitorError when there is nothing to read or it is unreadable."""
    stats = LiveStats(baseline)
    with _explained_errors(name):
        Reader(stats, window, thresholds.feature_sample_every).read(sources)
    return _report(stats, thresholds, name)


def analyse_paths(
    paths: list[Path],
    baseline: dict[str, Any],
    window: Window | None,
    thresholds: Thresholds,
    name: str,
    *,
    workers: int = 1,
) -> dict[str, Any]:
    """`analyse` over local files, read by `workers` processes side by side (each a contiguous run of the files,
    their figures merged in file order). The feature sample is one request in N of each worker's records, so it
    depends on `workers`; everything else is exact and the same for any number."""
    groups = _contiguous_groups(paths, workers)
    if len(groups) < 2:
        return analyse(path_sources(paths), baseline, window, thresholds, name)
    jobs = [(group, baseline, window, thresholds.feature_sample_every) for group in groups]
    with _explained_errors(name), ProcessPoolExecutor(len(groups)) as pool:
        parts = list(pool.map(_read_group, jobs))
    stats = parts[0]
    for part in parts[1:]:
        stats.merge(part)
    return _report(stats, thresholds, name)


def _read_group(job: tuple[list[Path], dict[str, Any], Window | None, int]) -> LiveStats:
    paths, baseline, window, sample_every = job
    stats = LiveStats(baseline)
    Reader(stats, window, sample_every).read(path_sources(paths))
    return stats


def _contiguous_groups(paths: list[Path], workers: int) -> list[list[Path]]:
    """`paths` cut into at most `workers` runs of about equal bytes, in order."""
    if workers < 2 or len(paths) < 2:
        return [paths] if paths else []
    sizes = [path.stat().st_size for path in paths]
    share = sum(sizes) / workers
    groups: list[list[Path]] = [[]]
    filled = 0
    for path, size in zip(paths, sizes):  # noqa: B905 (Python 3.9)
        if filled >= share * len(groups) and len(groups) < workers:
            groups.append([])
        groups[-1].append(path)
        filled += size
    return groups


@contextmanager
def _explained_errors(name: str) -> Iterator[None]:
    try:
        yield
    except CaptureFileError as error:
        raise MonitorError(f"cannot read the capture: {error}", ExitCode.NOTHING_TO_READ) from error
    except AnalysisError as error:
        raise MonitorError(f"{name}: {error}", ExitCode.NOTHING_TO_READ) from error


def _report(stats: LiveStats, thresholds: Thresholds, name: str) -> dict[str, Any]:
    if not stats.files:
        raise NothingInWindowError(f"{name}: no capture files in the window")
    if not stats.rows:
        raise NothingInWindowError(f"{name}: {stats.files} capture files, but no record in the window")
    return drift_report(stats, thresholds)


def analyse_folder(
    capture: Path,
    baseline_path: Path,
    *,
    endpoint: str,
    variant: str,
    window: Window | None,
    thresholds: Thresholds | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """The report of one variant whose capture files are under `capture` (the benchmark's and the job's path)."""
    baseline = load_baseline(baseline_path)
    try:
        paths = local_paths(capture, endpoint, variant, window)
    except CaptureFileError as error:
        raise MonitorError(str(error), ExitCode.NOTHING_TO_READ) from error
    name = f"{endpoint}/{variant}"
    return analyse_paths(paths, baseline, window, thresholds or Thresholds(), name, workers=workers)


def write_report(folder: Path, document: dict[str, Any]) -> Path:
    """report.json in `folder`, written to a temporary file and renamed: never half a report."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / REPORT_FILE_NAME
    handle, temporary = tempfile.mkstemp(prefix=".report-", dir=folder)
    with os.fdopen(handle, "w") as stream:
        json.dump(document, stream, indent=2, sort_keys=True, allow_nan=False)
        stream.write("\n")
    os.replace(temporary, target)
    return target


def put_metrics(namespace: str, endpoint: str, variant: str, report: dict[str, Any], cloudwatch: Any) -> None:
    """PutMetricData: the report's figures with dimensions EndpointName and VariantName."""
    dimensions = [{"Name": ENDPOINT_DIMENSION, "Value": endpoint}, {"Name": VARIANT_DIMENSION, "Value": variant}]
    data = [
        {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": unit}
        for name, (value, unit) in metric_values(report).items()
    ]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Drift of captured traffic against a build's baseline.")
    parser.add_argument("--capture", type=Path, required=True, help="folder of capture files")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline.json, or a folder holding it")
    parser.add_argument("--report", type=Path, required=True, help="folder report.json is written to")
    parser.add_argument("--endpoint", required=True, help="the endpoint whose capture this is")
    parser.add_argument("--variant", action="append", required=True, help="a variant to analyse (repeatable)")
    parser.add_argument("--namespace", help="CloudWatch namespace to publish the figures to")
    parser.add_argument("--artifact-sha256", help="the deployed artifact's sha256: refuse another model's baseline")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes reading files side by side (default: CPUs)"
    )
    parser.add_argument(
        "--capture-s3",
        help="the endpoint's capture folder in S3 (s3://bucket/capture/<endpoint>/): copy the window's hour folders "
        "into --capture first, and nothing else",
    )
    parser.add_argument(
        "--lag", type=duration, default=dt.timedelta(0), help="end the window this long before --end (default 0s)"
    )
    add_window_options(parser)
    add_threshold_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line on stderr and the exit code on any error a user or the data can cause."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        window, thresholds = window_from(args).shifted(args.lag), thresholds_from(args)
    except ValueError as error:
        parser.error(str(error))
    try:
        return _run(args, window, thresholds)
    except MonitorError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return int(error.code)


def _run(args: argparse.Namespace, window: Window, thresholds: Thresholds) -> int:
    baseline = load_baseline(args.baseline, args.artifact_sha256)
    if args.capture_s3:
        copy_capture(args.capture_s3, args.capture, args.variant, window)

    def one(variant: str) -> dict[str, Any]:
        try:
            paths = local_paths(args.capture, args.endpoint, variant, window, late_hours=LATE_HOURS)
        except CaptureFileError as error:
            raise MonitorError(str(error), ExitCode.NOTHING_TO_READ) from error
        return analyse_paths(paths, baseline, window, thresholds, f"{args.endpoint}/{variant}", workers=args.workers)

    try:
        reports, quiet = analyse_each(args.variant, one)
    except NothingInWindowError:
        if args.namespace:  # a quiet window is 0 rows, not a silent monitor: the stack's heartbeat alarm counts runs
            _publish(args.namespace, args.endpoint, {}, dict.fromkeys(args.variant, ""))
        raise
    document = report_document(args.endpoint, window, reports, quiet)
    if args.namespace:
        _publish(args.namespace, args.endpoint, reports, quiet)
    write_report(args.report, document)
    print_summary(args.endpoint, reports, quiet)
    return int(ExitCode.DRIFT if document["drift"] else ExitCode.NO_DRIFT)


def copy_capture(uri: str, folder: Path, variants: list[str], window: Window, s3: Any = None) -> int:
    """Copy `<uri><variant>/yyyy/mm/dd/hh/` of each variant, for the window's hours and LATE_HOURS after it, into
    `folder` (same layout); the number of files. Only those prefixes are listed and read: a run reads its window,
    not the endpoint's history. MonitorError (nothing to read) when S3 refuses."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise MonitorError(f"--capture-s3 {uri!r} is not an s3://bucket/prefix/ URI", ExitCode.USAGE)
    bucket, _, prefix = uri[5:].partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
    copied = 0
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        paginator = s3.get_paginator("list_objects_v2")
        for variant in variants:
            for hour in window.capture_folders(LATE_HOURS):
                below = f"{prefix}{variant}/{hour}/"
                for page in paginator.paginate(Bucket=bucket, Prefix=below):
                    for item in page.get("Contents", []):
                        target = folder / item["Key"][len(prefix) :]
                        target.parent.mkdir(parents=True, exist_ok=True)
                        s3.download_file(bucket, item["Key"], str(target))
                        copied += 1
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise MonitorError(f"cannot read the capture in {uri}: {code}: {error}", ExitCode.NOTHING_TO_READ) from error
    except BotoCoreError as error:
        raise MonitorError(f"cannot read the capture in {uri}: {error}", ExitCode.NOTHING_TO_READ) from error
    return copied


def analyse_each(
    variants: list[str], analyse_one: Callable[[str], dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each variant's report, and why those with nothing in the window have none; NothingInWindowError if all are."""
    reports: dict[str, dict[str, Any]] = {}
    quiet: dict[str, str] = {}
    first: NothingInWindowError | None = None
    for variant in variants:
        try:
            reports[variant] = analyse_one(variant)
        except NothingInWindowError as error:
            quiet[variant] = str(error)
            first = first or error
    if not reports and first is not None:
        raise first
    return reports, quiet


def print_summary(endpoint: str, reports: dict[str, dict[str, Any]], quiet: dict[str, str]) -> None:
    for variant, report in reports.items():
        print(summary_line(endpoint, variant, report))
    for reason in quiet.values():
        print(reason)


def report_document(
    endpoint: str, window: Window, reports: dict[str, dict[str, Any]], quiet: dict[str, str] | None = None
) -> dict[str, Any]:
    """The whole report: the window, each variant's, and the variants with nothing in the window."""
    return {
        "endpoint": endpoint,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "drift": any(report["verdict"] == DRIFT for report in reports.values()),
        "variants": reports,
        "nothing_in_window": quiet or {},
    }


def summary_line(endpoint: str, variant: str, report: dict[str, Any]) -> str:
    reasons = "; ".join(report["reasons"] or [f"warning: {warning}" for warning in report["warnings"]])
    return (
        f"{endpoint}/{variant}: {report['verdict']} ({report['rows']:,} rows, cluster-share PSI "
        f"{report['share_psi']:.3f}, {report['beyond_p99_share']:.1%} beyond p99){': ' + reasons if reasons else ''}"
    )


def _publish(namespace: str, endpoint: str, reports: dict[str, dict[str, Any]], quiet: dict[str, str]) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cloudwatch = boto3.client("cloudwatch")
        for variant, report in reports.items():
            put_metrics(namespace, endpoint, variant, report, cloudwatch)
        for variant in quiet:  # a quiet hour is 0 rows, not missing data
            put_metrics(namespace, endpoint, variant, {"rows": 0, "verdict": TOO_FEW_ROWS}, cloudwatch)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise MonitorError(f"PutMetricData refused: {code}: {error}", ExitCode.NOTHING_TO_READ) from error
    except BotoCoreError as error:
        raise MonitorError(f"PutMetricData failed: {error}", ExitCode.NOTHING_TO_READ) from error


if __name__ == "__main__":
    sys.exit(main())
