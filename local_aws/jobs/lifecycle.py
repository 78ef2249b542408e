"""A SageMaker job's status, secondary status and their transitions, kept as AWS reports them.

Every job is `InProgress` from its creation, moves through secondary statuses (`Starting`, `Downloading`,
the type's own working status such as `Training`, `Uploading`), and ends `Completed`, `Failed` (with a
FailureReason) or, after a stop request, `Stopping` then `Stopped`. Each secondary status is one entry of
`SecondaryStatusTransitions` (API DescribeTrainingJob: Status, StartTime, EndTime, StatusMessage); a job type
renders what its own Describe* shows (DescribeTransformJob shows only TransformJobStatus and FailureReason).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

IN_PROGRESS, COMPLETED, FAILED, STOPPING, STOPPED = "InProgress", "Completed", "Failed", "Stopping", "Stopped"
TERMINAL = (COMPLETED, FAILED, STOPPED)
# Secondary statuses every job passes through (API SecondaryStatusTransition); a type adds its working one.
STARTING, DOWNLOADING, UPLOADING = "Starting", "Downloading", "Uploading"


class JobFailedError(Exception):
    """The job fails with this FailureReason (raised in the engine or in a worker process)."""


class JobStoppedError(Exception):
    """A worker saw the stop request and stopped."""


def now() -> datetime:
    """UTC without a zone, as moto keeps its timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Transition:
    """One entry of SecondaryStatusTransitions; `end_time` is None while it is the current one."""

    status: str
    start_time: datetime
    end_time: datetime | None
    message: str

    def response(self) -> dict[str, object]:
        """As the API shows it: EndTime only once the status is over."""
        shown: dict[str, object] = {"Status": self.status, "StartTime": self.start_time}
        if self.end_time is not None:
            shown["EndTime"] = self.end_time
        shown["StatusMessage"] = self.message
        return shown


@dataclass(frozen=True)
class Snapshot:
    """The job's lifecycle at one moment, what a type renders onto its Describe* record."""

    status: str
    secondary_status: str
    transitions: tuple[Transition, ...]
    failure_reason: str
    start_time: datetime
    end_time: datetime | None
    stop_requested: bool


class JobState:
    """The lifecycle of one job; thread-safe; `on_change` is called (under the lock) after every change."""

    def __init__(
        self,
        on_change: Callable[[Snapshot], None],
        message: str = "Preparing the instances",
        messages: Mapping[str, str] | None = None,
    ) -> None:
        """`messages`: a job type's own StatusMessage for a secondary status, in place of the generic one."""
        started = now()
        self._lock = threading.Lock()
        self._on_change = on_change
        self._messages = dict(messages or {})
        first = Transition(STARTING, started, None, self._messages.get(STARTING, message))
        self._snapshot = Snapshot(IN_PROGRESS, STARTING, (first,), "", started, None, stop_requested=False)
        on_change(self._snapshot)

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def advance(self, secondary_status: str, message: str) -> None:
        """Enter the next secondary status; ignored once the job is stopping or over."""
        with self._lock:
            if self._snapshot.status == IN_PROGRESS:
                self._change(IN_PROGRESS, secondary_status, message)

    def request_stop(self) -> bool:
        """StopXxxJob: `Stopping` if the job is in progress (True), else nothing changes (False)."""
        with self._lock:
            if self._snapshot.status != IN_PROGRESS:
                return False
            self._change(STOPPING, STOPPING, "Stopping the job", stop_requested=True)
            return True

    def finish(self, status: str, reason: str = "") -> None:
        """End the job: Completed, Failed (with `reason`) or Stopped; a job ends once."""
        assert status in TERMINAL, status
        with self._lock:
            if self._snapshot.status in TERMINAL:
                return
            message = {COMPLETED: "Job completed", STOPPED: "Job stopped"}.get(status, f"Job failed: {reason}")
            self._change(status, status, message, failure_reason=reason, ended=True)

    def _change(
        self,
        status: str,
        secondary: str,
        message: str,
        *,
        failure_reason: str = "",
        stop_requested: bool | None = None,
        ended: bool = False,
    ) -> None:
        at = now()
        previous = self._snapshot
        closed = tuple(t if t.end_time else replace(t, end_time=at) for t in previous.transitions)
        self._snapshot = replace(
            previous,
            status=status,
            secondary_status=secondary,
            transitions=(
                *closed,
                Transition(secondary, at, at if ended else None, self._messages.get(secondary, message)),
            ),
            failure_reason=failure_reason or previous.failure_reason,
            end_time=at if ended else None,
            stop_requested=previous.stop_requested if stop_requested is None else stop_requested,
        )
        self._on_change(self._snapshot)
