"""What a serverless variant does that an instance-backed one does not: cold starts and a concurrency cap.

The first invocations after a (re)deploy answer ModelNotReadyException (HTTP 429) while the container
cold-starts (`LOCAL_AWS_SERVERLESS_COLD_STARTS`, default 1; botocore's standard retry mode does not retry it).
Requests beyond the variant's MaxConcurrency are throttled (ThrottlingException), not queued.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from local_aws.rules import enforced

COLD_STARTS_VARIABLE = "LOCAL_AWS_SERVERLESS_COLD_STARTS"
DEFAULT_COLD_STARTS = 1


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


class ServerlessGate:
    """Admits or refuses one invocation of a serverless variant; `release` when it is answered."""

    def __init__(self, cold_starts: int | None = None) -> None:
        self.cold_starts = (
            int(os.environ.get(COLD_STARTS_VARIABLE, DEFAULT_COLD_STARTS)) if cold_starts is None else cold_starts
        )
        self._answered_cold: dict[tuple[str, str, str], int] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def admit(self, endpoint: str, deployment: str, variant: str, max_concurrency: int) -> Refusal | Callable[[], None]:
        """`deployment` names the endpoint config: a new one is a redeploy, which starts cold again."""
        with self._lock:
            cold = (endpoint, deployment, variant)
            if enforced("serverless-cold-start") and self._answered_cold.get(cold, 0) < self.cold_starts:
                self._answered_cold[cold] = self._answered_cold.get(cold, 0) + 1
                return Refusal(
                    429,
                    "ModelNotReadyException",
                    f"Model for endpoint {endpoint} variant {variant} is not ready. Please try again later.",
                )
            key = (endpoint, variant)
            if enforced("serverless-concurrency") and self._in_flight.get(key, 0) >= max_concurrency:
                message = f"Rate exceeded: {endpoint}/{variant} already serves its MaxConcurrency {max_concurrency}"
                return Refusal(400, "ThrottlingException", message)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return lambda: self._release(key)

    def _release(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._in_flight[key] -= 1
