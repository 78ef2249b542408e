"""The scheduled job's entry point: drift completes the job (its report is uploaded); errors still fail it."""

from __future__ import annotations

import pytest

from monitoring import processing, scheduled
from monitoring.errors import ExitCode


@pytest.mark.parametrize(
    ("monitor_exit", "job_exit"),
    [(ExitCode.NO_DRIFT, 0), (ExitCode.DRIFT, 0), (ExitCode.USAGE, 2), (ExitCode.NOTHING_TO_READ, 3)],
)
def test_drift_is_a_finding_and_errors_keep_their_code(
    monkeypatch: pytest.MonkeyPatch, monitor_exit: ExitCode, job_exit: int
) -> None:
    seen: list[list[str] | None] = []

    def monitor(argv: list[str] | None = None) -> int:
        seen.append(argv)
        return int(monitor_exit)

    monkeypatch.setattr(processing, "main", monitor)
    assert scheduled.main(["--endpoint", "E"]) == job_exit
    assert seen == [["--endpoint", "E"]]
