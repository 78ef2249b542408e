"""AWS's front door: a request's parameters checked against botocore's model of its operation.

AWS validates every request against the service model (required members, enums, numeric ranges, lengths,
patterns) before the service sees it, and answers "N validation error(s) detected: Value 'x' at 'path' failed
to satisfy constraint: ...". The shapes come from botocore's own loader; validators are compiled once per
operation. What is not checked, and why: patterns Python's `re` cannot read as Java does (unicode classes
`\\p{...}`, class intersections `&&`) are skipped; blobs (payloads) are not measured here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

RULE = "api-model-validation"
NUMBERS = frozenset({"integer", "long", "float", "double"})
JAVA_ONLY = ("\\p{", "\\P{", "&&", "\\h", "\\z", "\\Z", "[[:")

Errors = list[str]
Check = Callable[[Any, str, Errors], None]
Constraint = Callable[[Any], str | None]


@cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of `service` (its loader caches the files; this caches the parsed model)."""
    return botocore.session.get_session().get_service_model(service)


def violations(service: str, operation: str, params: dict[str, Any]) -> Errors:
    """Each of AWS's "Value ... at ... failed to satisfy constraint: ..." for `params`; empty when valid."""
    errors: Errors = []
    _validator(service, operation)(params, "", errors)
    return errors


def message(errors: Errors) -> str:
    """AWS's ValidationException message for `errors` (not empty)."""
    count = len(errors)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors)


def operation_model(service: str, operation: str) -> OperationModel | None:
    model = service_model(service)
    return model.operation_model(operation) if operation in model.operation_names else None


@cache
def _validator(service: str, operation: str) -> Check:
    found = operation_model(service, operation)
    if found is None or found.input_shape is None:
        return lambda value, path, errors: None
    return _Compiler().check(found.input_shape)


def render(value: Any) -> str:
    """A value as AWS's (Java) messages print it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render(key)}={render(item)}" for key, item in value.items()) + "}"
    return str(value)


def _violation(value: Any, path: str, constraint: str, sensitive: bool = False) -> str:
    """AWS's phrase; a sensitive member's value is not repeated ("Value at 'password' failed ...")."""
    shown = "" if sensitive else " null" if value is None else f" '{render(value)}'"
    return f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _member_path(path: str, name: str) -> str:
    member = name[:1].lower() + name[1:]  # AWS names members in lowerCamelCase
    return f"{path}.{member}" if path else member


class _Compiler:
    """Builds one Check per shape, once; recursive shapes reach their own Check through `compiled`."""

    def __init__(self) -> None:
        self.compiled: dict[str, Check] = {}

    def check(self, shape: Shape) -> Check:
        name = shape.name
        if name not in self.compiled:

            def later(value: Any, path: str, errors: Errors) -> None:  # a recursive shape, built by then
                self.compiled[name](value, path, errors)

            self.compiled[name] = later
            self.compiled[name] = self._build(shape)
        return self.compiled[name]

    def _build(self, shape: Shape) -> Check:
        own = _constraints(shape)
        inner = self._inner(shape)
        sensitive = bool(shape.metadata.get("sensitive"))

        def check(value: Any, path: str, errors: Errors) -> None:
            for constraint in own:
                failed = constraint(value)
                if failed:
                    errors.append(_violation(value, path, failed, sensitive))
            if inner is not None:
                inner(value, path, errors)

        return check

    def _inner(self, shape: Shape) -> Check | None:
        if isinstance(shape, StructureShape):
            return self._structure(shape)
        if isinstance(shape, ListShape):
            member = self.check(shape.member)
            return lambda value, path, errors: _each(member, value, path, errors)
        if isinstance(shape, MapShape):
            return self._map(shape)
        return None

    def _structure(self, shape: StructureShape) -> Check:
        members = {name: self.check(member) for name, member in shape.members.items()}
        required = tuple(shape.required_members)

        def check(value: Any, path: str, errors: Errors) -> None:
            if not isinstance(value, dict):
                return
            for name in required:
                if value.get(name) is None:
                    errors.append(_violation(None, _member_path(path, name), "Member must not be null"))
            for name, item in value.items():
                if name in members and item is not None:
                    members[name](item, _member_path(path, name), errors)

        return check

    def _map(self, shape: MapShape) -> Check:
        keys, values = _constraints(shape.key), _constraints(shape.value)
        nested = self.check(shape.value) if isinstance(shape.value, StructureShape | ListShape | MapShape) else None
        sensitive = any(part.metadata.get("sensitive") for part in (shape, shape.key, shape.value))

        def check(value: Any, path: str, errors: Errors) -> None:
            if not isinstance(value, dict):
                return
            for part, constraints, items in (("keys", keys, value.keys()), ("value", values, value.values())):
                if any(constraint(item) for item in items for constraint in constraints):
                    listed = ", ".join(_phrases(constraints))
                    constraint = f"Map {part} must satisfy constraint: [{listed}]"
                    errors.append(_violation(value, path, constraint, sensitive))
            if nested is not None:
                for key, item in value.items():
                    nested(item, f"{path}.{key}", errors)

        return check


def _each(check: Check, value: Any, path: str, errors: Errors) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            if item is not None:
                check(item, f"{path}.{index}.member", errors)


class _Phrased:
    """A constraint that also says itself (for maps, which list every constraint of their keys or values)."""

    def __init__(self, phrase: str, fails: Callable[[Any], bool]) -> None:
        self.phrase = phrase
        self.fails = fails

    def __call__(self, value: Any) -> str | None:
        try:
            return self.phrase if self.fails(value) else None
        except TypeError:  # a value of the wrong type: the service's deserializer answers that, not this check
            return None


def _phrases(constraints: list[Constraint]) -> list[str]:
    return [constraint.phrase for constraint in constraints if isinstance(constraint, _Phrased)]


def _constraints(shape: Shape) -> list[Constraint]:
    """The model's min/max/pattern/enum on one shape, in the order AWS lists them."""
    facts = shape.metadata
    found: list[Constraint] = []
    measured = shape.type_name in ("string", "list", "map")
    if shape.type_name in NUMBERS:
        if "max" in facts:
            found.append(_Phrased(f"Member must have value less than or equal to {facts['max']}", _above(facts["max"])))
        if "min" in facts:
            found.append(
                _Phrased(f"Member must have value greater than or equal to {facts['min']}", _below(facts["min"]))
            )
    if measured and "max" in facts:
        found.append(_Phrased(f"Member must have length less than or equal to {facts['max']}", _longer(facts["max"])))
    if measured and "min" in facts:
        found.append(
            _Phrased(f"Member must have length greater than or equal to {facts['min']}", _shorter(facts["min"]))
        )
    if shape.type_name == "string":
        found.extend(_string_constraints(shape))
    return found


def _string_constraints(shape: Shape) -> list[Constraint]:
    found: list[Constraint] = []
    pattern = _pattern(shape.metadata.get("pattern"))
    if pattern is not None:
        # AWS matches the whole value (Java's String.matches), not a prefix.
        phrase = f"Member must satisfy regular expression pattern: {pattern.pattern}"
        found.append(_Phrased(phrase, lambda value: isinstance(value, str) and pattern.fullmatch(value) is None))
    allowed = shape.metadata.get("enum")
    if allowed:
        members = frozenset(allowed)
        phrase = f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        found.append(_Phrased(phrase, lambda value: isinstance(value, str) and value not in members))
    return found


def _above(limit: float) -> Callable[[Any], bool]:
    return lambda value: bool(value > limit)


def _below(limit: float) -> Callable[[Any], bool]:
    return lambda value: bool(value < limit)


def _longer(limit: int) -> Callable[[Any], bool]:
    return lambda value: len(value) > limit


def _shorter(limit: int) -> Callable[[Any], bool]:
    return lambda value: len(value) < limit


@cache
def _pattern(source: str | None) -> re.Pattern[str] | None:
    """The model's pattern compiled, or None where Python would not read it as AWS (Java) does."""
    if not source or any(marker in source for marker in JAVA_ONLY):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like: still the same pattern
            return re.compile(source)
    except re.error:
        return None


def rest_params(service: str, operation: str, uri: dict[str, str], headers: Any, body: bytes) -> dict[str, Any]:
    """A rest-json request's params from its path labels, headers and payload, by the members' traits.

    The payload is a blob (the invocation's body): present, never measured here (the runtime checks its size).
    A numeric header is read as a (signed) integer; one that is not stays text (see `rest_violations`)."""
    found = operation_model(service, operation)
    if found is None or found.input_shape is None:
        return {}
    payload = found.input_shape.serialization.get("payload")
    params: dict[str, Any] = {payload: body} if payload else {}
    for name, member in found.input_shape.members.items():
        location, wire_name = member.serialization.get("location"), member.serialization.get("name", name)
        value = uri.get(wire_name) if location == "uri" else headers.get(wire_name) if location == "header" else None
        if value is not None:
            params[name] = _integer(value) if member.type_name in ("integer", "long") else value
    return params


def rest_violations(service: str, operation: str, uri: dict[str, str], headers: Any, body: bytes) -> Errors:
    """`violations` of a rest-json request, after its numeric headers that are not integers.

    AWS's front door refuses such a header before any other check; its words for it are not documented, so the
    phrase is the model's own style ("Member must be an integer")."""
    params = rest_params(service, operation, uri, headers, body)
    found = operation_model(service, operation)
    members = found.input_shape.members if found is not None and found.input_shape is not None else {}
    malformed = [
        _violation(value, _member_path("", name), "Member must be an integer")
        for name, value in params.items()
        if name in members and members[name].type_name in ("integer", "long") and isinstance(value, str)
    ]
    return malformed + violations(service, operation, params)


def _integer(text: str) -> int | str:
    """A header's integer (signed, surrounding blanks ignored, as Java's parser after trim), or the text itself."""
    stripped = text.strip()
    return int(stripped) if re.fullmatch(r"[+-]?\d+", stripped) else text
