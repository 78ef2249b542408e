"""Shadow variants: each request production answered is copied to the shadow, off the request path.

As SageMaker's shadow tests do, the caller gets production's answer only; the shadow's answer is
kept where data capture keeps production's (its own variant folder), so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local_aws.runtime.background import BackgroundQueue
from local_aws.runtime.capture import DataCapture, Exchange
from local_aws.runtime.resolver import Endpoint, Variant

QUEUE_LIMIT = 256  # requests waiting for the shadow; beyond it copies are dropped, never the caller slowed

Predict = Callable[[Variant, str, str | None, bytes], tuple[bytes, str]]


@dataclass(frozen=True)
class MirroredRequest:
    endpoint: Endpoint
    shadow: Variant
    content_type: str
    accept: str | None
    body: bytes
    inference_id: str | None = None  # the caller's InferenceId: the shadow's capture record carries it too


class ShadowMirror:
    """One background thread answers the shadow copies in arrival order; a full queue drops copies, never slows."""

    def __init__(self, predict: Predict, capture: DataCapture | None) -> None:
        self._predict = predict
        self._capture = capture
        self._queue = BackgroundQueue[MirroredRequest]("shadow-variant", self._answer, QUEUE_LIMIT)

    def offer(self, request: MirroredRequest) -> None:
        self._queue.offer(request)

    def drain(self) -> None:
        self._queue.drain()

    def _answer(self, request: MirroredRequest) -> None:
        body, kind = self._predict(request.shadow, request.content_type, request.accept, request.body)
        if self._capture is not None:
            exchange = Exchange(
                request.endpoint.name,
                request.shadow.name,
                request.content_type,
                request.body,
                kind,
                body,
                request.inference_id,
            )
            self._capture.offer(request.endpoint.capture, exchange)
