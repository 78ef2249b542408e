"""`python -m verification`: the gate a pipeline runs after every deploy. Exit codes in ExitCode.

Every deploy waits for this process, start-up included: what only some runs need (the candidate gate's SciPy
and scikit-learn, the offline paths, a terminal's progress bar) is imported where those runs start, each AWS
client is made when first needed, and work that waits on the network or the disk overlaps (the builds load
while botocore starts; the deployed artifact downloads while the predictions run). The report still lists the
checks in order, and an earlier check's error wins as if it had run first.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract.stack import STACK_BASE_NAME, Output
from verification.checks import (
    CheckResult,
    PredictionRun,
    deployed_artifacts,
    endpoint_in_service,
    expected_for,
    predictions,
    runs_declared_config,
    stack_complete,
)
from verification.compare import Tolerance
from verification.errors import ExitCode, VerificationError
from verification.payloads import CONTENT_TYPES
from verification.report import Report, print_summary, write_json, write_junit
from verification.target import Expected, Target, load_expected, outputs_from_file, target_from_outputs

PROGRAM = "python -m verification"
DEFAULT_STACK = STACK_BASE_NAME
DEFAULT_REFERENCE = Path("build")
EPILOG = """exit codes: 0 passed; 1 prediction mismatch (--candidate: agreement below --min-agreement, or ids not kept);
2 usage or configuration error;
3 stack or endpoint not ready or failed (also: endpoint runs another config than declared);
4 deployed artifact differs from the local one (when predictions also mismatch, 1 wins)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Invoke the deployed endpoint and prove it answers as the local model does. "
        "Region and endpoints come from the usual AWS environment variables.",
        epilog=EPILOG,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--outputs-file", type=Path, help="what `cdk deploy --outputs-file` wrote")
    source.add_argument("--endpoint", help="an endpoint name only (skips the stack checks)")
    parser.add_argument("--stack", help=f"stack whose outputs to read (default {DEFAULT_STACK})")
    parser.add_argument("--expect-config", help="with --endpoint: the EndpointConfig the stack declared")
    parser.add_argument(
        "--reference",
        type=Path,
        action="append",
        help="build folder (default build/); repeat for A/B variants: each variant is checked against the "
        "build whose artifact it serves",
    )
    parser.add_argument(
        "--model-package",
        help="a model package ARN instead of --reference: its reference set, read from the registry and S3 (the "
        "default on a stack that serves one, from its ModelPackageArn output)",
    )
    parser.add_argument("--content-types", default=",".join(CONTENT_TYPES), help="comma-separated request types")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per variant (default 4)")
    parser.add_argument("--wait", type=int, default=600, help="seconds to wait for InService (default 600)")
    parser.add_argument("--rtol", type=float, default=Tolerance.rtol, help="relative distance tolerance")
    parser.add_argument("--atol", type=float, default=Tolerance.atol, help="absolute distance tolerance")
    parser.add_argument(
        "--batch", action="store_true", help="also verify through a Batch Transform job (needs -c scoring=true)"
    )
    gate = parser.add_argument_group("candidate-vs-live gate (instead of checking the deployed builds)")
    gate.add_argument(
        "--candidate", help="a retrained build folder, or a model package ARN: the live endpoint labels its rows"
    )
    gate.add_argument(
        "--min-agreement", type=float, default=0.9, help="label agreement below this fails the gate (default 0.9)"
    )
    gate.add_argument("--variant", help="the live variant to compare with (default: the first)")
    parser.add_argument("--json", type=Path, help="write a JSON report here")
    parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and int(ExitCode.USAGE)
    report = Report(endpoint=args.endpoint or args.stack or DEFAULT_STACK)
    try:
        verify(args, report)
    except VerificationError as error:
        report.stopped, report.code = str(error), error.code
    except (BotoCoreError, ClientError) as error:
        # Anything AWS refused or could not be reached for: the deploy is not in a verifiable state.
        report.stopped, report.code = f"AWS call failed: {error}", ExitCode.NOT_READY
    print_summary(report)
    for path, writer in ((args.json, write_json), (args.junit, write_junit)):
        if path is not None:
            writer(report, path)
    return int(report.code)


class _Clients(dict[str, Any]):
    """botocore clients by service name, each made on first use (~0.2 s of CPU for the four), so a run makes only
    those it calls, and those it calls later are made while it waits on the network."""

    def __init__(self, session: Any, config: Any) -> None:
        super().__init__()
        self._session, self._config, self._lock = session, config, threading.Lock()

    def __missing__(self, service: str) -> Any:
        with self._lock:  # a botocore session is not thread-safe
            if service not in self:
                self[service] = self._session.create_client(service, config=self._config)
        return dict.__getitem__(self, service)


def _clients() -> dict[str, Any]:
    # botocore's own session: the same configuration, credentials and AWS_ENDPOINT_URL* variables as boto3's,
    # without boto3's resource layer and s3transfer, which nothing here uses.
    from botocore.config import Config
    from botocore.session import get_session

    retrying = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=70, connect_timeout=10)
    session = get_session()
    if session.get_config_variable("region") is None:
        raise VerificationError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)", ExitCode.USAGE)
    return _Clients(session, retrying)


def _make(clients: dict[str, Any], services: Iterable[str]) -> None:
    """Make these clients now (a no-op for those made already)."""
    for service in services:
        clients[service]


def _timed(check: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    result = check()
    return replace(result, duration_s=time.perf_counter() - started)


def _load_builds(paths: list[Path]) -> list[Expected]:
    return [load_expected(path) for path in paths]


def _load_expected(args: argparse.Namespace, connected: Future[dict[str, Any]]) -> list[Expected]:
    """The builds named, the package named, or (on a stack that serves one) the stack's package, else build/."""
    from verification.packaged import load_package, served_package

    if args.reference:
        return _load_builds(args.reference)
    if args.model_package:
        return [load_package(connected.result(), args.model_package)]
    if not args.endpoint:
        local = _local_target(args)
        served = local.outputs.get(Output.MODEL_PACKAGE_ARN) if local else None
        served = served or (None if local else served_package(connected.result(), args.stack or DEFAULT_STACK))
        if served:
            return [load_package(connected.result(), served)]
    return _load_builds([DEFAULT_REFERENCE])


def _load_candidate(candidate: str, connected: Future[dict[str, Any]]) -> list[Expected]:
    from verification.packaged import is_package_arn, load_package

    if is_package_arn(candidate):
        return [load_package(connected.result(), candidate)]
    return _load_builds([Path(candidate)])


@contextmanager
def _handing_over(connected: Future[dict[str, Any]]) -> Iterator[None]:
    """Should the block fail before it connects, a loader waiting for the clients fails with its error."""
    try:
        yield
    except BaseException as error:
        if not connected.done():
            connected.set_exception(error)
        raise


@contextmanager
def _loading_first(loading: Future[list[Expected]]) -> Iterator[None]:
    """Work done while the builds load: should it fail, a build's error wins, as if the builds had loaded first."""
    try:
        yield
    except BaseException:
        loading.result()
        raise


def _local_target(args: argparse.Namespace) -> Target | None:
    """The target when no AWS call is needed to know it (--endpoint, --outputs-file)."""
    if args.endpoint:
        return Target(endpoint_name=args.endpoint, endpoint_config_name=args.expect_config)
    if args.outputs_file:
        stack_name, outputs = outputs_from_file(args.outputs_file, args.stack)
        return target_from_outputs(outputs, stack_name, str(args.outputs_file))
    return None


def _stack_target(args: argparse.Namespace, cloudformation: Any, report: Report) -> Target:
    stack_name = args.stack or DEFAULT_STACK
    started = time.perf_counter()
    result, outputs = stack_complete(cloudformation, stack_name)
    report.add(replace(result, duration_s=time.perf_counter() - started))
    return target_from_outputs(outputs, stack_name, f"stack {stack_name}")


def tqdm(*args: Any, **options: Any) -> Any:
    """tqdm's progress bar, imported by the runs that draw one only (a pipeline's never does)."""
    from tqdm import tqdm as bar

    return bar(*args, **options)


class _Unseen:
    """The progress of a run off a terminal: nothing to draw."""

    total = 0

    def update(self, _: int) -> None:
        return None


def _predictions_with_progress(run: PredictionRun, variant: dict[str, Any], content_type: str) -> CheckResult:
    """One check with its own progress bar: drawn only on a terminal, and gone before its result line prints."""
    if not sys.stderr.isatty():
        return predictions(run, variant, content_type, _Unseen())
    with tqdm(total=0, unit="B", unit_scale=True, delay=2, file=sys.stderr, leave=False) as progress:
        return predictions(run, variant, content_type, progress)


def _content_types(text: str) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = sorted(set(chosen) - set(CONTENT_TYPES))
    if unknown or not chosen:
        raise VerificationError(
            f"--content-types: {unknown or 'none'} not among {', '.join(CONTENT_TYPES)}", ExitCode.USAGE
        )
    return chosen


def verify(args: argparse.Namespace, report: Report) -> None:
    """Run the checks in order, adding each result to `report` and setting its exit code."""
    if args.candidate is not None:
        _gate_candidate(args, report)
        return
    with ThreadPoolExecutor(max_workers=2) as pool:
        connected: Future[dict[str, Any]] = Future()
        loading = pool.submit(_load_expected, args, connected)
        with _loading_first(loading), _handing_over(connected):
            content_types = _content_types(args.content_types)
            connection = _connect(args)
            connected.set_result(connection[0])
        builds = loading.result()
        clients, run, config, target = _live_endpoint(args, report, connection, builds[0], pool)
        local_sha256s = [build.build.artifact_sha256 for build in builds]
        artifact = _Artifact(pool.submit(_deployed_artifacts, clients, config, local_sha256s), report)
        if config.get("AsyncInferenceConfig"):  # it answers no real-time request: S3 in, S3 out
            from verification.batch import async_predictions

            expected = expected_for(config["ProductionVariants"][0]["VariantName"], artifact.result(), builds)
            answered = partial(
                async_predictions, clients, target.outputs, target.endpoint_name, expected,
                tolerance=run.tolerance, wait_s=args.wait,
            )  # fmt: skip
            report.add(_timed(answered))
        else:
            _real_time_predictions(report, run, config, builds=builds, content_types=content_types, artifact=artifact)
    if args.batch:
        from verification.batch import batch_transform

        report.add(_timed(partial(batch_transform, clients, target.outputs, builds[0], run.tolerance, args.wait)))
    answers = ("predictions", "batch transform")  # "predictions async" too
    if not all(check.passed for check in report.checks if check.name.startswith(answers)):
        report.code = ExitCode.PREDICTION_MISMATCH
    elif not artifact.result().passed:
        report.code = ExitCode.ARTIFACT_DIFFERS


def _deployed_artifacts(clients: dict[str, Any], config: dict[str, Any], local_sha256s: list[str]) -> CheckResult:
    return _timed(partial(deployed_artifacts, clients["sagemaker"], clients["s3"], config, local_sha256s))


class _Artifact:
    """The deployed-artifact check, run in the background: added to the report when first asked for."""

    def __init__(self, running: Future[CheckResult], report: Report) -> None:
        self._running, self._report = running, report
        self._result: CheckResult | None = None

    def result(self) -> CheckResult:
        if self._result is None:
            self._result = self._running.result()
            self._report.add(self._result)
        return self._result


def _real_time_predictions(
    report: Report,
    run: PredictionRun,
    config: dict[str, Any],
    *,
    builds: list[Expected],
    content_types: list[str],
    artifact: _Artifact,
) -> None:
    """Every variant in every content type; the artifact check's result is reported (or raised) before theirs."""
    for variant in config["ProductionVariants"]:
        # With one build every variant is judged against it, whatever it serves: no need to wait for the download.
        expected = builds[0] if len(builds) == 1 else expected_for(variant["VariantName"], artifact.result(), builds)
        variant_run = replace(run, expected=expected)
        for content_type in content_types:
            try:
                result = _timed(partial(_predictions_with_progress, variant_run, variant, content_type))
            finally:
                artifact.result()  # as if it had run first: its error wins over this check's
            report.add(result)


def _connect(args: argparse.Namespace) -> tuple[dict[str, Any], Target | None]:
    """The clients the first AWS calls need, and the target when it is known without AWS."""
    local_target = _local_target(args)
    clients = _clients()
    _make(clients, ["sagemaker"] if local_target else ["cloudformation", "sagemaker"])
    return clients, local_target


def _live_endpoint(
    args: argparse.Namespace,
    report: Report,
    connection: tuple[dict[str, Any], Target | None],
    expected: Expected,
    pool: ThreadPoolExecutor,
) -> tuple[dict[str, Any], PredictionRun, dict[str, Any], Target]:
    """The stack and endpoint checks; then the clients, a run against the endpoint, its config and target."""
    clients, local_target = connection
    pool.submit(_make, clients, ["sagemaker-runtime", "s3"])  # while the calls below wait on the network
    target = local_target or _stack_target(args, clients["cloudformation"], report)
    report.endpoint = target.endpoint_name
    started = time.perf_counter()
    described = endpoint_in_service(clients["sagemaker"], target.endpoint_name, args.wait)
    report.add(
        CheckResult(
            "endpoint in service", True, f"{target.endpoint_name} is {described['EndpointStatus']}",
            duration_s=time.perf_counter() - started,
        )
    )  # fmt: skip
    report.add(_timed(partial(runs_declared_config, described, target.endpoint_config_name)))
    config = clients["sagemaker"].describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    run = PredictionRun(
        clients["sagemaker-runtime"], target.endpoint_name, expected, Tolerance(rtol=args.rtol, atol=args.atol),
        args.concurrency, wait_s=args.wait,
    )  # fmt: skip
    return clients, run, config, target


def _gate_candidate(args: argparse.Namespace, report: Report) -> None:
    """--candidate: the live variant labels the candidate's reference rows; agreement gates promotion."""
    if not 0 <= args.min_agreement <= 1:
        raise VerificationError(f"--min-agreement must be between 0 and 1, got {args.min_agreement}", ExitCode.USAGE)
    from verification.candidate import candidate_checks  # SciPy and scikit-learn: ~1.5 s only this gate needs

    with ThreadPoolExecutor(max_workers=2) as pool:
        connected: Future[dict[str, Any]] = Future()
        loading = pool.submit(_load_candidate, args.candidate, connected)
        with _loading_first(loading), _handing_over(connected):
            connection = _connect(args)
            connected.set_result(connection[0])
        (candidate,) = loading.result()
        _, run, config, _ = _live_endpoint(args, report, connection, candidate, pool)
    variants = {variant["VariantName"]: variant for variant in config["ProductionVariants"]}
    name = args.variant or next(iter(variants))
    if name not in variants:
        raise VerificationError(f"--variant {name}: the endpoint has {', '.join(variants)}", ExitCode.USAGE)
    started = time.perf_counter()
    agreement, ids = candidate_checks(run, variants[name], args.min_agreement)
    # One measurement answers both checks: its time is the first's.
    report.add(replace(agreement, duration_s=time.perf_counter() - started))
    report.add(ids)
    if not all(check.passed for check in report.checks):
        report.code = ExitCode.PREDICTION_MISMATCH
