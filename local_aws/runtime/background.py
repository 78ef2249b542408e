"""Work done after the response: a bounded queue and the threads (one by default) that handle its items in order."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

LOG = logging.getLogger(__name__)
Item = TypeVar("Item")


class BackgroundQueue(Generic[Item]):
    """`offer` never blocks the caller (False when full); a failing item is logged and the next one handled."""

    def __init__(self, name: str, handle: Callable[[Item], None], limit: int, workers: int = 1) -> None:
        self.name = name
        self._handle = handle
        self._queue: queue.Queue[Item] = queue.Queue(limit)
        for _ in range(workers):
            threading.Thread(target=self._handle_forever, name=name, daemon=True).start()

    def offer(self, item: Item) -> bool:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            LOG.warning("%s queue full: dropped an item", self.name)
            return False
        return True

    def put(self, item: Item) -> None:
        """Queue `item`, waiting for room (for work that must not be dropped, such as recovered requests)."""
        self._queue.put(item)

    def drain(self) -> None:
        """Wait until every item offered so far has been handled (tests, shutdown)."""
        self._queue.join()

    def _handle_forever(self) -> None:
        while True:
            item = self._queue.get()
            try:
                self._handle(item)
            except Exception:  # one bad item must never stop the queue
                LOG.exception("%s failed on an item", self.name)
            finally:
                self._queue.task_done()
