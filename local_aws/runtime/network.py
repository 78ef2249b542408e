"""Emulated distance to a real endpoint, off by default, so benchmarks show what batching and concurrency buy.

`LOCAL_AWS_RUNTIME_LATENCY_MS` adds a round trip to every invocation; `LOCAL_AWS_RUNTIME_MBPS` limits the
bandwidth request and response bodies travel at.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

LATENCY_VARIABLE = "LOCAL_AWS_RUNTIME_LATENCY_MS"
BANDWIDTH_VARIABLE = "LOCAL_AWS_RUNTIME_MBPS"


@dataclass(frozen=True)
class NetworkEmulation:
    latency_ms: float = 0.0
    megabits_per_s: float = 0.0  # 0: unlimited

    @classmethod
    def from_environment(cls) -> NetworkEmulation:
        return cls(
            latency_ms=float(os.environ.get(LATENCY_VARIABLE, "0")),
            megabits_per_s=float(os.environ.get(BANDWIDTH_VARIABLE, "0")),
        )

    def delay_s(self, request_bytes: int, response_bytes: int) -> float:
        transfer = (request_bytes + response_bytes) * 8 / (self.megabits_per_s * 1e6) if self.megabits_per_s else 0.0
        return self.latency_ms / 1000 + transfer

    def wait(self, request_bytes: int, response_bytes: int) -> None:
        delay = self.delay_s(request_bytes, response_bytes)
        if delay > 0:
            time.sleep(delay)
