"""The checks, in order; each returns a result, and the gating ones raise to stop the run."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import numpy as np
from botocore.exceptions import ClientError

from contract.stack import describe_stack
from verification.compare import Comparison, Tolerance, compare
from verification.errors import ExitCode, VerificationError
from verification.invoke import VariantAnswers, invoke_batches
from verification.payloads import payload_limit
from verification.target import Expected
from wire.requests import Batch, batches

COMPLETE_SUFFIX = "_COMPLETE"
# DescribeEndpoint statuses that will not become InService by waiting (botocore's waiter knows only Failed).
TERMINAL_STATUSES = frozenset({"Failed", "OutOfService", "UpdateRollbackFailed", "Deleting"})
POLL_INTERVAL_S = 2.0


def aws_error(error: ClientError) -> str:
    """`Code: message`, so a denial reads as AccessDenied whichever service sent it."""
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', error)}"


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0  # wall seconds the check took, set by whoever ran it (see verification.cli)


def stack_complete(cloudformation: Any, stack_name: str) -> tuple[CheckResult, dict[str, str]]:
    """The stack must be *_COMPLETE (no rollback); returns the check and the stack's outputs."""
    try:
        stack = describe_stack(stack_name, cloudformation)
    except ClientError as error:
        raise VerificationError(f"stack {stack_name}: {aws_error(error)}", ExitCode.NOT_READY) from error
    status = stack.status
    if not status.endswith(COMPLETE_SUFFIX) or "ROLLBACK" in status or status.startswith("DELETE"):
        raise VerificationError(f"stack {stack_name} is {status}, not a completed deploy", ExitCode.NOT_READY)
    return CheckResult("stack complete", True, f"{stack_name} is {status}"), stack.outputs


def endpoint_in_service(
    sagemaker: Any, endpoint_name: str, wait_s: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Wait up to `wait_s` for InService; stop at once on a status that waiting cannot fix, with its reason."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as error:
            raise VerificationError(f"endpoint {endpoint_name}: {aws_error(error)}", ExitCode.NOT_READY) from error
        status = described["EndpointStatus"]
        if status == "InService":
            return described
        if status in TERMINAL_STATUSES:
            reason = described.get("FailureReason") or "no FailureReason given"
            raise VerificationError(f"endpoint {endpoint_name} is {status}: {reason}", ExitCode.NOT_READY)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise VerificationError(
                f"endpoint {endpoint_name} is still {status} after --wait {wait_s:g} s", ExitCode.NOT_READY
            )
        sleep(min(POLL_INTERVAL_S, remaining))


def runs_declared_config(described: dict[str, Any], declared: str | None) -> CheckResult:
    running = described["EndpointConfigName"]
    if declared is None:
        return CheckResult("declared endpoint config", True, f"runs {running} (nothing declared to compare)")
    if running != declared:
        reason = described.get("FailureReason") or "no FailureReason given (SageMaker can roll back silently)"
        raise VerificationError(
            f"endpoint runs {running} but the stack declared {declared}: SageMaker rolled the update back; "
            f"FailureReason: {reason}",
            ExitCode.NOT_READY,
        )
    return CheckResult("declared endpoint config", True, f"runs {running}, as declared")


def deployed_artifacts(sagemaker: Any, s3: Any, config: dict[str, Any], local_sha256s: list[str]) -> CheckResult:
    """Download every variant's ModelDataUrl; each must be one of the local builds (A/B: one per variant)."""
    found = {}
    for variant in config["ProductionVariants"]:
        url = model_data_url(sagemaker, sagemaker.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"])
        location = urlparse(url)
        body = s3.get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))["Body"].read()
        found[variant["VariantName"]] = (url, hashlib.sha256(body).hexdigest())
    differing = {name: sha for name, (_, sha) in found.items() if sha not in local_sha256s}
    local = " or ".join(sha[:12] for sha in local_sha256s)
    if differing:
        detail = "; ".join(f"{name} serves sha256 {sha[:12]}" for name, sha in differing.items())
        return CheckResult("deployed artifact", False, f"{detail}, local is {local}", {"found": found})
    served = ", ".join(f"{name} serves sha256 {sha[:12]}" for name, (_, sha) in found.items())
    return CheckResult("deployed artifact", True, f"{served}: each a local build", {"found": found})


def model_data_url(sagemaker: Any, container: dict[str, Any]) -> str:
    """The artifact a Model serves: its own ModelDataUrl, or that of the model package it names (AWS's documents do
    not say DescribeModel repeats the package's container, so it is read from the package)."""
    if "ModelDataUrl" in container:
        return str(container["ModelDataUrl"])
    package = sagemaker.describe_model_package(ModelPackageName=container["ModelPackageName"])
    return str(package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])


def expected_for(variant_name: str, artifact: CheckResult, builds: list[Expected]) -> Expected:
    """The local build a variant serves (by artifact sha256); the first build when it serves none of them."""
    _, served = artifact.data["found"][variant_name]
    return next((build for build in builds if build.build.artifact_sha256 == served), builds[0])


@dataclass(frozen=True)
class PredictionRun:
    runtime: Any
    endpoint_name: str
    expected: Expected
    tolerance: Tolerance
    concurrency: int
    wait_s: float = 0.0  # how long a cold start (ModelNotReadyException) may be retried


def concurrency_for(run: PredictionRun, variant: dict[str, Any]) -> int:
    """Never more requests in flight than a serverless variant's MaxConcurrency (beyond it: throttled)."""
    serverless = variant.get("ServerlessConfig") or {}
    return min(run.concurrency, int(serverless.get("MaxConcurrency", run.concurrency)))


def variant_answers(
    run: PredictionRun, variant: dict[str, Any], content_type: str, on_sent: Callable[[Batch], None] = lambda _: None
) -> VariantAnswers:
    """Every reference row's answer from one variant, in batches under its payload limit and concurrency."""
    rows = run.expected.reference.rows
    return invoke_batches(
        run.runtime,
        endpoint_name=run.endpoint_name,
        variant=variant["VariantName"],
        content_type=content_type,
        batches=batches(rows, content_type, payload_limit(variant)),
        rows=len(rows),
        concurrency=concurrency_for(run, variant),
        not_ready_until=time.monotonic() + run.wait_s,
        on_sent=on_sent,
    )


def predictions(run: PredictionRun, variant: dict[str, Any], content_type: str, progress: Any) -> CheckResult:
    rows = run.expected.reference.rows
    sizes: list[int] = []

    def sent(batch: Batch) -> None:
        sizes.append(len(batch.body))
        progress.update(len(batch.body))

    progress.total = (progress.total or 0) + rows.nbytes  # an estimate: the bar counts request bytes
    answers = variant_answers(run, variant, content_type, on_sent=sent)
    outcome: Comparison = compare(run.expected.reference, answers.closest, answers.distances, run.tolerance)
    name = f"predictions {variant['VariantName']} {content_type}"
    detail = (
        f"{outcome.rows} rows, metric {outcome.metric}, {len(outcome.ties)} ties, {len(outcome.mismatches)} mismatches"
    )
    data = {
        "variant": variant["VariantName"],
        "content_type": content_type,
        "rows": outcome.rows,
        "requests": len(sizes),
        "largest_request_bytes": max(sizes),
        "metric": outcome.metric,
        "ties": outcome.ties,
        "mismatches": [m.__dict__ for m in outcome.mismatches],
        "latency_s": answers.latencies_s,
    }
    return CheckResult(name, outcome.passed, detail, data)


def latency_summary(latencies_s: list[float]) -> dict[str, float]:
    values = np.array(latencies_s) * 1000
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "max_ms": float(values.max()),
    }
