"""The one exception a user can cause; the CLI prints it as a single line and exits 1."""

from __future__ import annotations


class ScoringError(Exception):
    """A problem with the user's input or the job, explained in one line naming where it is."""
