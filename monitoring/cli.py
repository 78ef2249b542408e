"""`python -m monitoring drift`: a stack's captured traffic against the baseline of the build it serves.

    python -m monitoring drift --stack KMeansEndpoint --since 24h
    python -m monitoring drift --stack KMeansEndpoint --start 2026-12-01T00:00:00Z --end 2026-12-02T00:00:00Z \\
        --variant AllTraffic --baseline build --json drift.json --picture drift.png --psi-drift 0.2

The capture location is the endpoint's own: the stack's outputs name the endpoint, DescribeEndpoint its current
config, DescribeEndpointConfig its `DataCaptureConfig.DestinationS3Uri`; each variant's files are listed under
`<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/` for the hours of the window (as SageMaker writes them; the
trailing slash keeps `KMeansEndpoint-staging` out of `KMeansEndpoint`'s files) and streamed, never held whole.
Each variant is measured against the `--baseline` build whose artifact it serves (the stack's ArtifactSha256
outputs); a baseline of another model is refused. Region and endpoints come from the usual AWS variables.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from contract.clients import NoRegionError, aws_clients
from contract.stack import STACK_BASE_NAME, Output, describe_stack, is_missing_stack
from monitoring.errors import ExitCode, MonitorError
from monitoring.options import add_threshold_options, add_window_options, thresholds_from, window_from
from monitoring.processing import (
    analyse,
    analyse_each,
    check_baseline_model,
    load_baseline,
    print_summary,
    report_document,
)
from monitoring.reading import Source, Window
from monitoring.settings import Thresholds

PROGRAM = "python -m monitoring drift"
DEFAULT_BASELINE = Path("build")
CANDIDATES = ("", "Challenger", "Shadow")  # output prefixes: production's own, then a challenger's or a shadow's
EPILOG = """exit codes: 0 no drift; 1 drift in a variant; 2 usage, or a baseline of another model than a variant
serves; 3 no capture in the window, a capture file that cannot be read, or AWS refused a call.
Threshold defaults and their sources: monitoring/settings.py (PSI 0.1 / 0.25: Siddiqi, Credit Risk Scorecards)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Drift of a stack's captured traffic against the baseline of the build each variant serves.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", default=STACK_BASE_NAME, help=f"the endpoint's stack (default {STACK_BASE_NAME})")
    parser.add_argument("--variant", action="append", help="a variant to analyse (repeatable; default every one)")
    parser.add_argument(
        "--baseline", type=Path, action="append", help="build folder (default build/); repeat for A/B or shadow builds"
    )
    parser.add_argument("--json", type=Path, help="write the report as JSON here")
    parser.add_argument("--picture", type=Path, help="draw baseline against live (shares, distances) to this PNG")
    add_window_options(parser)
    add_threshold_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: `drift` and its options; one line and an exit code on every error."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["drift"]:
        print(f"usage: {PROGRAM} [options]  (try {PROGRAM} --help)", file=sys.stderr)
        return int(ExitCode.USAGE)
    parser = build_parser()
    try:
        args = parser.parse_args(argv[1:])
        window, thresholds = window_from(args), thresholds_from(args)
    except SystemExit as exit_:
        return int(exit_.code or 0) and int(ExitCode.USAGE)
    except ValueError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE)
    try:
        return run(args, window, thresholds)
    except (MonitorError, NoRegionError, ClientError, BotoCoreError) as error:
        message, code = _explained(error)
        print(f"{PROGRAM}: error: {message}", file=sys.stderr)
        return int(code)


def _explained(error: Exception) -> tuple[str, ExitCode]:
    """One line and the exit code for an error that stops the run."""
    if isinstance(error, MonitorError):
        return str(error), error.code
    if isinstance(error, NoRegionError):
        return str(error), ExitCode.USAGE
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        return f"AWS refused a call ({code}): {error}", ExitCode.NOTHING_TO_READ
    return f"AWS call failed: {error}", ExitCode.NOTHING_TO_READ


def run(args: argparse.Namespace, window: Window, thresholds: Thresholds) -> int:
    baselines = [load_baseline(path) for path in args.baseline or [DEFAULT_BASELINE]]
    clients = aws_clients(["cloudformation", "sagemaker", "s3"])
    target = capture_target(args.stack, clients)
    variants = _chosen_variants(target, args.variant)

    def one(variant: str) -> dict[str, Any]:
        baseline = _baseline_for(baselines, target, variant, args.baseline or [DEFAULT_BASELINE])
        sources = s3_sources(clients["s3"], target, variant, window)
        name = f"{target['endpoint']}/{variant}"
        return analyse(sources, baseline, window, thresholds, name)

    reports, quiet = analyse_each(variants, one)
    document = report_document(target["endpoint"], window, reports, quiet)
    print_summary(target["endpoint"], reports, quiet)
    if args.json:
        _write_atomically(args.json, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
    if args.picture:
        from monitoring.picture import render_report

        _write_atomically(args.picture, render_report(document))
    return int(ExitCode.DRIFT if document["drift"] else ExitCode.NO_DRIFT)


def capture_target(stack: str, clients: dict[str, Any]) -> dict[str, Any]:
    """The endpoint, its capture destination and, per variant, the sha256 of the artifact it serves."""
    try:
        deployed = describe_stack(stack, clients["cloudformation"])
    except ClientError as error:
        if is_missing_stack(error):
            raise MonitorError(f"stack {stack} does not exist", ExitCode.USAGE) from error
        raise
    endpoint = deployed.outputs.get(Output.ENDPOINT_NAME)
    if not endpoint:
        raise MonitorError(f"stack {stack} has no {Output.ENDPOINT_NAME} output ({deployed.status})", ExitCode.USAGE)
    sagemaker = clients["sagemaker"]
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    capture = config.get("DataCaptureConfig") or {}
    if not capture.get("EnableCapture", bool(capture)):
        raise MonitorError(
            f"endpoint {endpoint} captures no traffic: deploy the stack with -c data_capture=true",
            ExitCode.NOTHING_TO_READ,
        )
    models = {deployed.outputs.get(Output.of_candidate(p, Output.MODEL_NAME)): p for p in CANDIDATES}
    variants = {}
    for variant in [*config["ProductionVariants"], *config.get("ShadowProductionVariants", [])]:
        prefix = models.get(variant["ModelName"])
        key = Output.of_candidate(prefix, Output.ARTIFACT_SHA256) if prefix is not None else None
        variants[variant["VariantName"]] = deployed.outputs.get(key) if key else None
    destination = urlparse(capture["DestinationS3Uri"])
    return {
        "endpoint": endpoint,
        "bucket": destination.netloc,
        "prefix": destination.path.strip("/"),
        "variants": variants,
    }


def _chosen_variants(target: dict[str, Any], asked: list[str] | None) -> list[str]:
    known = list(target["variants"])
    unknown = [variant for variant in asked or [] if variant not in known]
    if unknown:
        raise MonitorError(
            f"endpoint {target['endpoint']} has no variant {unknown[0]} (it has {', '.join(known)})", ExitCode.USAGE
        )
    return asked or known


def _baseline_for(
    baselines: list[dict[str, Any]], target: dict[str, Any], variant: str, paths: list[Path]
) -> dict[str, Any]:
    served = target["variants"][variant]
    for baseline in baselines:
        if served is None or baseline["artifact_sha256"] == served:
            return baseline
    check_baseline_model(baselines[0], served, f"{paths[0]} (variant {variant})")
    return baselines[0]


def s3_sources(s3: Any, target: dict[str, Any], variant: str, window: Window) -> Iterator[Source]:
    """Each capture object of the variant in the window's hour folders, in key order, as streamed lines."""
    base = "/".join(part for part in (target["prefix"], target["endpoint"], variant) if part)
    paginator = s3.get_paginator("list_objects_v2")
    for hour in window.hour_folders():
        keys = [
            item["Key"]
            for page in paginator.paginate(Bucket=target["bucket"], Prefix=f"{base}/{hour}/")
            for item in page.get("Contents", [])
            if item["Key"].endswith(".jsonl")
        ]
        for key in sorted(keys):
            yield f"s3://{target['bucket']}/{key}", _object_lines(s3, target["bucket"], key)


def _object_lines(s3: Any, bucket: str, key: str) -> Iterator[bytes]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        yield from body.iter_lines(chunk_size=1 << 20)
    finally:
        body.close()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
