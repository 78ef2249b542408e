"""moto's own attributes, as they were before local_aws/patches.py replaced them: what replacements call on to.

Kept by the registry when it installs a row, and looked up when a replacement runs, so that no module
reads a moto attribute at import time (a moto without it must be refused in one line, not a traceback).
"""

from __future__ import annotations

import threading
from typing import Any

_KEPT: dict[tuple[int, str], Any] = {}
_LOCK = threading.Lock()


def keep(target: Any, attribute: str) -> None:
    """Remember moto's `target.attribute` before it is replaced (once: a second install keeps the first)."""
    with _LOCK:
        _KEPT.setdefault((id(target), attribute), getattr(target, attribute))


def original(target: Any, attribute: str) -> Any:
    """moto's own `target.attribute`, whether or not the registry has replaced it."""
    with _LOCK:
        kept = _KEPT.get((id(target), attribute))
    return getattr(target, attribute) if kept is None else kept
