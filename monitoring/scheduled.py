"""`python3 -m monitoring.scheduled`: the scheduled Processing job's entry point, around monitoring.processing.

The stack's schedule (stacks/constructs/drift.py) starts a job every interval with this entry point and the
arguments of monitoring.processing. Two things differ, both for a job that runs every hour:

- Each variant is read from its own input folder: `--capture ROOT` holds `<variant>/yyyy/mm/dd/hh/` (one
  ProcessingInput per variant, `capture/<endpoint>/<variant>/`), and each variant's report is
  `--report ROOT/<variant>/report.json`.
- Drift is a finding, not a failure: the job exits 0 once every variant was analysed, drift or not, because
  SageMaker uploads a job's outputs only when it completes; the verdict reaches people through the metrics and
  the stack's alarms. A usage error, or a variant with nothing to read in the window, keeps its exit code (the
  job fails, with the monitor's line in its log), after every other variant was analysed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitoring import processing
from monitoring.errors import ExitCode

ANALYSED = (ExitCode.NO_DRIFT, ExitCode.DRIFT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m monitoring.scheduled", add_help=False)
    parser.add_argument("--capture", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--variant", action="append", required=True)
    args, rest = parser.parse_known_args(argv)
    failed = [
        code
        for variant in args.variant
        if (code := _one(rest, args.capture / variant, args.report / variant, variant)) not in ANALYSED
    ]
    return failed[0] if failed else int(ExitCode.NO_DRIFT)


def _one(rest: list[str], capture: Path, report: Path, variant: str) -> int:
    argv = [*rest, "--capture", str(capture), "--report", str(report), "--variant", variant]
    return processing.main(argv)


if __name__ == "__main__":
    sys.exit(main())
