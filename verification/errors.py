"""Exit codes the pipeline gates on, and the exception carrying one."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    PREDICTION_MISMATCH = 1
    USAGE = 2
    NOT_READY = 3
    ARTIFACT_DIFFERS = 4


class VerificationError(Exception):
    """Stops the run: a usage/configuration problem, or an endpoint not ready. One line for the user."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code
