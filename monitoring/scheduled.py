"""`python3 -m monitoring.scheduled`: the scheduled Processing job's entry point, around monitoring.processing.

The stack's schedule (stacks/constructs/drift.py) starts a job every interval with this entry point and the
arguments of monitoring.processing. One thing differs, for a job that runs every hour: drift is a finding, not a
failure. SageMaker uploads a job's outputs only when it completes, so the job exits 0 once the traffic was
analysed, drift or not, and its report is kept; the verdict reaches people through the metrics and the stack's
alarms. A usage error, a capture it cannot read, or nothing to read in the window keep their exit codes: the job
fails, with the monitor's line in its log.
"""

from __future__ import annotations

import sys

from monitoring import processing
from monitoring.errors import ExitCode


def main(argv: list[str] | None = None) -> int:
    code = processing.main(argv)
    return int(ExitCode.NO_DRIFT) if code == ExitCode.DRIFT else code


if __name__ == "__main__":
    sys.exit(main())
