"""IAM's evaluation of identity-based policies: explicit deny wins, then any allow, else an implicit deny.

Written here because moto's `IAMPolicy` is too lenient to test least privilege with: it matches actions
case-sensitively, treats `.` in an ARN as a regex wildcard and `?` literally, and evaluates only the trust
policy subset of conditions, ignoring keys it was not given. Sources (IAM User Guide): "Policy evaluation
logic", "IAM JSON policy elements: Action / Resource / Condition operators", and "Condition with multiple
context keys or values".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | list[str]
# The condition keys the local AWS fills in; a policy naming any other is refused, never allowed.
KNOWN_KEY_PREFIXES = ("aws:resourcetag/", "aws:requesttag/", "iam:resourcetag/")
KNOWN_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:securetransport",
        "aws:requestedregion",
        "s3:prefix",
        "kms:viaservice",
        "aws:sourcearn",  # a service principal's (EventBridge sending to a queue)
        "aws:sourceaccount",
        "iam:passedtoservice",
        "cloudwatch:namespace",
        "kms:grantisforawsresource",  # true when SageMaker creates a grant for the job's volume
    }
)


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


class PolicyError(ValueError):
    """A policy the local AWS cannot evaluate faithfully: an unknown operator or condition key."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """One action on one resource (an ARN, or `*` for actions without resource-level permissions)."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        """The context key's values (keys are case-insensitive), or None when the request lacks it."""
        for name, value in self.context.items():
            if name.lower() == key.lower():
                return value if isinstance(value, list) else [value]
        return None


def evaluate(documents: Iterable[Mapping[str, Any]], request: AuthorizationRequest) -> Decision:
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _applies(statement: Mapping[str, Any], request: AuthorizationRequest) -> bool:
    return (
        _element_matches(statement, "Action", request.action, case_sensitive=False)
        and _element_matches(statement, "Resource", request.resource, case_sensitive=True)
        and all(condition_holds(op, block, request) for op, block in statement.get("Condition", {}).items())
    )


def _element_matches(statement: Mapping[str, Any], element: str, value: str, *, case_sensitive: bool) -> bool:
    """`Action`/`Resource` match any of their patterns; `NotAction`/`NotResource` match none of theirs."""
    negated = f"Not{element}"
    patterns = statement.get(element, statement.get(negated))
    if patterns is None:
        return False
    listed = [patterns] if isinstance(patterns, str) else patterns
    matched = any(glob_matches(pattern, value, case_sensitive=case_sensitive) for pattern in listed)
    return not matched if negated in statement else matched


def glob_matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's wildcards: `*` any run of characters (across `/` and `:` too), `?` exactly one."""
    return _compiled(pattern, case_sensitive).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), 0 if case_sensitive else re.IGNORECASE)


def condition_holds(operator: str, block: Mapping[str, Any], request: AuthorizationRequest) -> bool:
    """Every key of one operator's block must hold (AND); any listed value may match (OR)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if qualifier not in ("", "ForAnyValue", "ForAllValues") or base not in _OPERATORS:
        raise PolicyError(f"condition operator {operator} is not one the local AWS evaluates")
    return all(
        _key_holds(base, qualifier, if_exists, key=key, values=values, request=request) for key, values in block.items()
    )


def _key_holds(
    base: str, qualifier: str, if_exists: bool, *, key: str, values: Any, request: AuthorizationRequest
) -> bool:
    _check_known_key(key)
    expected = [
        str(v).lower() if isinstance(v, bool) else str(v) for v in (values if isinstance(values, list) else [values])
    ]
    actual = request.value(key)
    if base == "Null":
        return (actual is None) == (expected[0] == "true")
    if actual is None:
        return if_exists or base in _NEGATED or qualifier == "ForAllValues"
    compare, negated = _OPERATORS[base], base in _NEGATED
    if qualifier == "ForAllValues":
        return all(any(compare(e, a) for e in expected) != negated for a in actual)
    matched = any(compare(e, a) for e in expected for a in actual)
    return matched != negated


def _check_known_key(key: str) -> None:
    lowered = key.lower()
    if lowered not in KNOWN_KEYS and not lowered.startswith(KNOWN_KEY_PREFIXES):
        raise PolicyError(f"condition key {key} is not one the local AWS supplies")


def _string_like(pattern: str, value: str) -> bool:
    return glob_matches(pattern, value)


def _numeric(compare: Any) -> Any:
    def holds(expected: str, actual: str) -> bool:
        try:
            return bool(compare(float(actual), float(expected)))
        except ValueError:
            return False

    return holds


_OPERATORS: dict[str, Any] = {
    "StringEquals": lambda e, a: e == a,
    "StringNotEquals": lambda e, a: e == a,
    "StringEqualsIgnoreCase": lambda e, a: e.lower() == a.lower(),
    "StringNotEqualsIgnoreCase": lambda e, a: e.lower() == a.lower(),
    "StringLike": _string_like,
    "StringNotLike": _string_like,
    "ArnEquals": lambda e, a: e == a,
    "ArnNotEquals": lambda e, a: e == a,
    "ArnLike": _string_like,
    "ArnNotLike": _string_like,
    "Bool": lambda e, a: e.lower() == a.lower(),
    "NumericEquals": _numeric(lambda a, e: a == e),
    "NumericNotEquals": _numeric(lambda a, e: a == e),
    "NumericLessThan": _numeric(lambda a, e: a < e),
    "NumericLessThanEquals": _numeric(lambda a, e: a <= e),
    "NumericGreaterThan": _numeric(lambda a, e: a > e),
    "NumericGreaterThanEquals": _numeric(lambda a, e: a >= e),
    "Null": lambda e, a: True,  # handled before comparison
}
# Negated operators compare like their positive twin and invert; a missing key satisfies them.
_NEGATED = frozenset(
    {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NumericNotEquals"}
)
