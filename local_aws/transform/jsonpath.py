"""The JSONPath subset SageMaker's batch transform DataProcessing documents, for CSV arrays and JSON objects.

Supported (developer guide, "Associate Prediction Results with Input Records", table "Supported JSONPath
Operators"): `$` (everything), `.name`, `*` (`$.id.*`, `$[*]`: every member or element), `['name','other']`
(also after a dot: `$.field1.['child1','child2']`), `[i]` and `[i,j,...]` with negative indices, and
`[a:b]`, `[a:]`, `[:b]` slices; an index list may hold one slice (the OutputFilter example `$[0,5:]`; two
ranges fail, as `$[0:2,246:]` does on AWS: "only single range filters of format (eg: [1:5]) are supported",
sagemaker-python-sdk#1112). A slice's end is inclusive, as the guide's worked examples read it ("`$[1:4]`
specifies the second through fifth columns"; "`[:5]` ... from the first column (index 0) through the sixth
column"); with the rule `transform-jsonpath` relaxed the local AWS falls back to the narrower subset it had
(no `*`, no mixed lists, end-exclusive slices). A CSV record is the array of its fields; a JSON Lines record
is its object (or array). Anything else is refused when the job is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from local_aws.rules import enforced

_BRACKET = re.compile(r"^\.?\[(?P<inside>[^\]]*)\]")
_NAME = re.compile(r"^\.(?P<name>[A-Za-z_][A-Za-z0-9_]*|\*)")
_SLICE = re.compile(r"^\s*(?P<start>-?\d+)?\s*:\s*(?P<stop>-?\d+)?\s*$")
_INDEX = re.compile(r"^\s*-?\d+\s*$")
_QUOTED = re.compile(r"^\s*'(?P<name>[^']*)'\s*$")
_WILDCARD = re.compile(r"^\s*\*\s*$")


class JsonPathError(ValueError):
    """An expression outside the supported subset."""


@dataclass(frozen=True)
class Pick:
    """One member of an index list: an index, or a slice (stop inclusive unless relaxed)."""

    index: int | None = None
    start: int | None = None
    stop: int | None = None
    inclusive: bool = True


@dataclass(frozen=True)
class Step:
    """One step: a member name, names to pick, every member (`*`), or indices and slices to pick."""

    kind: str  # "name" | "names" | "wildcard" | "picks"
    names: tuple[str, ...] = ()
    picks: tuple[Pick, ...] = ()


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
    documented = enforced("transform-jsonpath")
    name = _NAME.match(rest)
    if name and (name["name"] != "*" or documented):
        step = Step("wildcard") if name["name"] == "*" else Step("name", names=(name["name"],))
        return step, rest[name.end() :]
    bracket = _BRACKET.match(rest)
    if not bracket or (bracket.group().startswith(".") and not documented):
        raise JsonPathError(f"{text!r}: expected .name or [...] at {rest!r}")
    return _bracket_step(bracket["inside"], text, documented), rest[bracket.end() :]


def _bracket_step(inside: str, text: str, documented: bool) -> Step:
    parts = inside.split(",")
    if documented and len(parts) == 1 and _WILDCARD.match(inside):
        return Step("wildcard")
    quoted = [_QUOTED.match(part) for part in parts]
    if all(quoted):
        return Step("names", names=tuple(match["name"] for match in quoted if match))
    picks = [_pick(part, inclusive=documented) for part in parts]
    if any(pick is None for pick in picks):
        raise JsonPathError(f"{text!r}: [{inside}] is not an index list, a slice or quoted names")
    ranges = sum(pick.index is None for pick in picks if pick)
    if ranges > 1 or (ranges and len(picks) > 1 and not documented):
        raise JsonPathError(
            f"Invalid JsonPath: {text}: only single range filters of format (eg: [1:5]) are supported. "
            f"Format [{inside}] is not supported"
        )
    return Step("picks", picks=tuple(pick for pick in picks if pick))


def _pick(part: str, *, inclusive: bool) -> Pick | None:
    if _INDEX.match(part):
        return Pick(index=int(part))
    sliced = _SLICE.match(part)
    if not sliced:
        return None
    start, stop = sliced["start"], sliced["stop"]
    return Pick(start=int(start) if start else None, stop=int(stop) if stop else None, inclusive=inclusive)


def _apply(step: Step, value: Any, text: str) -> Any:
    if step.kind == "name":
        return _member(value, step.names[0], text)
    if step.kind == "names":
        return {name: _member(value, name, text) for name in step.names}
    if step.kind == "wildcard":
        return list(value.values()) if isinstance(value, dict) else _array(value, text)
    array = _array(value, text)
    picked: list[Any] = []
    for pick in step.picks:
        picked.extend(_picked(array, pick, text))
    single = len(step.picks) == 1 and step.picks[0].index is not None
    return picked[0] if single else picked


def _array(value: Any, text: str) -> list[Any]:
    if not isinstance(value, list):
        raise JsonPathError(f"{text!r}: indexes an array, the record holds {type(value).__name__}")
    return value


def _picked(array: list[Any], pick: Pick, text: str) -> list[Any]:
    if pick.index is not None:
        if not -len(array) <= pick.index < len(array):
            raise JsonPathError(f"{text!r}: index out of range for a record of {len(array)} fields")
        return [array[pick.index]]
    if pick.stop is None or not pick.inclusive:
        return array[pick.start : pick.stop]
    stop = pick.stop + len(array) if pick.stop < 0 else pick.stop
    return array[pick.start : stop + 1]


def _member(value: Any, name: str, text: str) -> Any:
    if not isinstance(value, dict) or name not in value:
        raise JsonPathError(f"{text!r}: the record has no member {name!r}")
    return value[name]
