"""What a reader raises for a body it cannot evaluate."""

from __future__ import annotations


class PayloadError(ValueError):
    """A request the model cannot evaluate (the container's HTTP 400)."""


class UnsupportedMediaTypeError(ValueError):
    """A Content-Type or Accept the container does not handle."""
