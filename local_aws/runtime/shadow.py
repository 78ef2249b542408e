"""Shadow variants: each request production answered is copied to the shadow, off the request path.

As SageMaker's shadow tests do, the caller gets production's answer only; the shadow's answer is
kept where data capture keeps production's (its own variant folder), so the two can be compared.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from local_aws.runtime.capture import DataCapture, Exchange
from local_aws.runtime.resolver import Endpoint, Variant

LOG = logging.getLogger(__name__)
QUEUE_LIMIT = 256  # requests waiting for the shadow; beyond it copies are dropped, never the caller slowed

Predict = Callable[[Variant, str, str | None, bytes], tuple[bytes, str]]


@dataclass(frozen=True)
class MirroredRequest:
    endpoint: Endpoint
    shadow: Variant
    content_type: str
    accept: str | None
    body: bytes


class ShadowMirror:
    """One background thread answers the shadow copies in arrival order."""

    def __init__(self, predict: Predict, capture: DataCapture | None) -> None:
        self._predict = predict
        self._capture = capture
        self._queue: queue.Queue[MirroredRequest] = queue.Queue(QUEUE_LIMIT)
        self._worker = threading.Thread(target=self._answer_forever, name="shadow-variant", daemon=True)
        self._worker.start()

    def offer(self, request: MirroredRequest) -> None:
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            LOG.warning("shadow queue full: dropped a copy for %s", request.shadow.name)

    def drain(self) -> None:
        """Wait until every copy offered so far has been answered (tests, shutdown)."""
        self._queue.join()

    def _answer_forever(self) -> None:
        while True:
            request = self._queue.get()
            try:
                self._answer(request)
            except Exception:  # a failing shadow must never stop the mirror; SageMaker only logs it too
                LOG.exception("shadow variant %s failed", request.shadow.name)
            finally:
                self._queue.task_done()

    def _answer(self, request: MirroredRequest) -> None:
        body, kind = self._predict(request.shadow, request.content_type, request.accept, request.body)
        if self._capture is not None:
            exchange = Exchange(
                request.endpoint.name, request.shadow.name, request.content_type, request.body, kind, body
            )
            self._capture.offer(request.endpoint.capture, exchange)
