"""Keep the runtime up as SageMaker keeps an endpoint's instances up: a crashed one is replaced.

`python -m local_aws runtime` runs this loop; the server itself runs in a child process. A child that exits
is restarted after a short pause, at most MAX_RESTARTS times per RESTART_WINDOW_S, after which the
supervisor gives up (a runtime that crashes at once every time needs a person, not a loop).
SIGTERM (from `local_aws down`) stops the child, then the supervisor.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import deque
from types import FrameType

MAX_RESTARTS = 10
RESTART_WINDOW_S = 60.0
RESTART_PAUSE_S = 0.5
STOP_TIMEOUT_S = 10.0


def supervise(command: list[str]) -> int:
    """Run `command`, restarting it when it exits on its own; return once stopped by SIGTERM or given up."""
    stopping = False
    child = subprocess.Popen(command)

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts: deque[float] = deque()
    while True:
        code = child.wait()
        if stopping:
            return 0
        now = time.monotonic()
        while restarts and now - restarts[0] > RESTART_WINDOW_S:
            restarts.popleft()
        if len(restarts) >= MAX_RESTARTS:
            print(
                f"runtime exited {code}; {MAX_RESTARTS} restarts within {RESTART_WINDOW_S:g} s, giving up",
                file=sys.stderr,
            )
            return 1
        print(f"runtime exited {code}; replacing it, as SageMaker replaces an unhealthy instance", file=sys.stderr)
        restarts.append(now)
        time.sleep(RESTART_PAUSE_S)
        child = subprocess.Popen(command)
