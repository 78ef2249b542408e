"""Exit codes, in the verifier's style, and the exception carrying one."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    NO_DRIFT = 0
    DRIFT = 1
    USAGE = 2  # a bad option, a baseline of another model or one that cannot be read
    NOTHING_TO_READ = 3  # no capture in the window, a capture file that cannot be read, or AWS refused a call


class MonitorError(Exception):
    """Stops the run with one line for the user and an exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


class NothingInWindowError(MonitorError):
    """A variant with no capture in the window: the run goes on with the others, and fails only if all are so."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.NOTHING_TO_READ)
