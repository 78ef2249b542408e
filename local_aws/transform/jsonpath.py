"""The JSONPath subset SageMaker's batch transform DataProcessing documents, for CSV arrays and JSON objects.

Supported (developer guide, "Associate Prediction Results with Input Records"): `$` (everything),
`$[i]`, `$[i,j,...]`, `$[a:b]`, `$[a:]`, `$[:b]` with negative indices, `$.name`, `$['name','other']`,
and `$.name` followed by an index or slice. A CSV record is the array of its fields; a JSON Lines
record is its object (or array). Anything else is refused when the job is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_BRACKET = re.compile(r"^\[(?P<inside>[^\]]*)\]")
_NAME = re.compile(r"^\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
_SLICE = re.compile(r"^\s*(?P<start>-?\d+)?\s*:\s*(?P<stop>-?\d+)?\s*$")
_INDEX = re.compile(r"^\s*-?\d+\s*$")
_QUOTED = re.compile(r"^\s*'(?P<name>[^']*)'\s*$")


class JsonPathError(ValueError):
    """An expression outside the supported subset."""


@dataclass(frozen=True)
class Step:
    """One step: a member name, names to pick, indices to pick, or a slice."""

    kind: str  # "name" | "names" | "indices" | "slice"
    names: tuple[str, ...] = ()
    indices: tuple[int, ...] = ()
    start: int | None = None
    stop: int | None = None


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    def apply(self, value: Any) -> Any:
        for step in self.steps:
            value = _apply(step, value, self.text)
        return value


def parse(text: str) -> JsonPath:
    """`text` as a JsonPath; JsonPathError names what is not supported."""
    if not text.startswith("$"):
        raise JsonPathError(f"{text!r}: a JSONPath starts with $")
    rest, steps = text[1:], []
    while rest:
        step, rest = _next_step(rest, text)
        steps.append(step)
    return JsonPath(text, tuple(steps))


def _next_step(rest: str, text: str) -> tuple[Step, str]:
    name = _NAME.match(rest)
    if name:
        return Step("name", names=(name["name"],)), rest[name.end() :]
    bracket = _BRACKET.match(rest)
    if not bracket:
        raise JsonPathError(f"{text!r}: expected .name or [...] at {rest!r}")
    return _bracket_step(bracket["inside"], text), rest[bracket.end() :]


def _bracket_step(inside: str, text: str) -> Step:
    sliced = _SLICE.match(inside)
    if sliced:
        start, stop = sliced["start"], sliced["stop"]
        return Step("slice", start=int(start) if start else None, stop=int(stop) if stop else None)
    parts = inside.split(",")
    if all(_INDEX.match(part) for part in parts):
        return Step("indices", indices=tuple(int(part) for part in parts))
    quoted = [_QUOTED.match(part) for part in parts]
    if all(quoted):
        return Step("names", names=tuple(match["name"] for match in quoted if match))
    raise JsonPathError(f"{text!r}: [{inside}] is not an index list, a slice or quoted names")


def _apply(step: Step, value: Any, text: str) -> Any:
    if step.kind == "name":
        return _member(value, step.names[0], text)
    if step.kind == "names":
        return {name: _member(value, name, text) for name in step.names}
    if not isinstance(value, list):
        raise JsonPathError(f"{text!r}: indexes an array, the record holds {type(value).__name__}")
    if step.kind == "slice":
        return value[step.start : step.stop]
    try:
        picked = [value[index] for index in step.indices]
    except IndexError as error:
        raise JsonPathError(f"{text!r}: index out of range for a record of {len(value)} fields") from error
    return picked[0] if len(picked) == 1 else picked


def _member(value: Any, name: str, text: str) -> Any:
    if not isinstance(value, dict) or name not in value:
        raise JsonPathError(f"{text!r}: the record has no member {name!r}")
    return value[name]
