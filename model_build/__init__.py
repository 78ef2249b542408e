"""Turn a k-means model into the artifact SageMaker's built-in k-means container loads."""

from __future__ import annotations

__version__ = "0.1.0"
