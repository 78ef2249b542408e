"""The one exception type a user can cause; the CLI prints it as a single line."""

from __future__ import annotations


class BuildError(Exception):
    """A problem with the user's input, explained in one line naming where it is."""
