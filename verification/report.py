"""The run's report: a readable summary, JSON for machines, JUnit XML for CI systems."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from verification.checks import CheckResult, latency_summary
from verification.errors import ExitCode

MAX_DIFF_ROWS = 20


@dataclass
class Report:
    endpoint: str
    checks: list[CheckResult] = field(default_factory=list)
    stopped: str | None = None
    code: ExitCode = ExitCode.PASSED

    def add(self, result: CheckResult) -> None:
        self.checks.append(result)
        print(f"  {'PASS' if result.passed else 'FAIL'}  {result.name}: {result.detail}", flush=True)

    def latency_by_variant(self) -> dict[str, dict[str, float]]:
        latencies: dict[str, list[float]] = {}
        for check in self.checks:
            if "latency_s" in check.data:
                latencies.setdefault(check.data["variant"], []).extend(check.data["latency_s"])
        return {variant: latency_summary(values) for variant, values in latencies.items() if values}

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "exit_code": int(self.code),
            "result": self.code.name.lower(),
            "stopped": self.stopped,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail, "duration_s": round(c.duration_s, 3), **c.data}
                for c in self.checks
            ],
            "latency": self.latency_by_variant(),
        }


def print_summary(report: Report) -> None:
    for check in report.checks:
        _print_diff(check)
        _print_drift(check)
    for variant, latency in report.latency_by_variant().items():
        p50, p95, slowest = latency["p50_ms"], latency["p95_ms"], latency["max_ms"]
        print(f"  latency {variant}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {slowest:.1f} ms")
    if report.stopped:
        print(f"  STOPPED: {report.stopped}")
    verdict = "passed" if report.code == ExitCode.PASSED else "FAILED"
    print(f"verification {verdict} (exit {int(report.code)}: {report.code.name.lower()})")


def _print_diff(check: CheckResult) -> None:
    mismatches = check.data.get("mismatches") or []
    if not mismatches:
        return
    print(f"\n  mismatching rows, {check.name} (first {min(len(mismatches), MAX_DIFF_ROWS)} of {len(mismatches)}):")
    print(f"  {'row':>6} {'expected cluster':>17} {'got cluster':>12} {'expected distance':>18} {'got distance':>13}")
    for m in mismatches[:MAX_DIFF_ROWS]:
        print(
            f"  {m['row']:>6} {m['expected_cluster']:>17} {m['got_cluster']:>12g} "
            f"{m['expected_distance']:>18.6g} {m['got_distance']:>13.6g}"
        )
    print()


def _print_drift(check: CheckResult) -> None:
    """The candidate gate's per-cluster drift: each id's share of rows, live against candidate."""
    live, candidate = check.data.get("live_share"), check.data.get("candidate_share")
    if live is None or candidate is None:
        return
    print(f"\n  cluster sizes, {check.name} (share of the candidate's reference rows):")
    print(f"  {'id':>4} {'live':>8} {'candidate':>10}")
    for cluster in sorted(set(live) | set(candidate)):
        print(f"  {cluster:>4} {live.get(cluster, 0.0):>8.2%} {candidate.get(cluster, 0.0):>10.2%}")
    print()


def write_json(report: Report, path: Path) -> None:
    _write_atomically(path, json.dumps(report.as_dict(), indent=2).encode())


def write_junit(report: Report, path: Path) -> None:
    failures = sum(not c.passed for c in report.checks) + (1 if report.stopped else 0)
    suite = ElementTree.Element(
        "testsuite", name="kmeans-endpoint-verification", tests=str(len(report.checks) + bool(report.stopped)),
        failures=str(failures), time=_seconds(sum(c.duration_s for c in report.checks)),
    )  # fmt: skip
    for check in report.checks:
        case = ElementTree.SubElement(
            suite, "testcase", classname=report.endpoint, name=check.name, time=_seconds(check.duration_s)
        )
        if not check.passed:
            ElementTree.SubElement(case, "failure", message=check.detail).text = json.dumps(
                check.data.get("mismatches", [])
            )[:10000]
    if report.stopped:
        case = ElementTree.SubElement(suite, "testcase", classname=report.endpoint, name="verification run")
        ElementTree.SubElement(case, "failure", message=report.stopped)
    _write_atomically(path, ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True))


def _seconds(duration_s: float) -> str:
    return f"{duration_s:.3f}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, path)
