"""Helpers shared by the benchmarks: timed child processes with their peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / ".bench"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
MXNET_PYTHON = REPO_ROOT / ".venv-mxnet" / "bin" / "python"


@dataclass(frozen=True)
class Measured:
    """Wall seconds and peak resident memory (MiB) of one or more child processes."""

    wall_s: float
    peak_mib: float

    def then(self, other: Measured) -> Measured:
        """Steps run one after another: times add, the peak is the larger one."""
        return Measured(self.wall_s + other.wall_s, max(self.peak_mib, other.peak_mib))


def run_measured(command: Sequence[str | Path], cwd: Path = REPO_ROOT) -> Measured:
    """Run `command`, failing loudly, and return its wall time and its own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(list(map(str, command)), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
    return Measured(wall_s=wall, peak_mib=usage.ru_maxrss / 1024)


def median_measured(runs: Sequence[Measured]) -> Measured:
    """Median wall time and median peak of repeated runs."""
    return Measured(statistics.median(r.wall_s for r in runs), statistics.median(r.peak_mib for r in runs))
