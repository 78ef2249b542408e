"""The local AWS's IAM evaluator, on the evaluation rules and examples of AWS's IAM User Guide."""

from __future__ import annotations

from typing import Any

import pytest

from local_aws.strict.iam.policy import AuthorizationRequest, Decision, PolicyError, evaluate, glob_matches

BUCKET_OBJECT = "arn:aws:s3:::reports/2026/q4.csv"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(document: dict[str, Any], action: str, resource: str = BUCKET_OBJECT, **context: Any) -> Decision:
    return evaluate([document], AuthorizationRequest(action, resource, context))


def test_no_matching_statement_is_an_implicit_deny() -> None:
    assert decide(policy(allow("s3:PutObject")), "s3:GetObject") is Decision.IMPLICIT_DENY


def test_an_explicit_deny_overrides_any_allow() -> None:
    document = policy(allow("s3:*"), {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"})
    assert decide(document, "s3:GetObject") is Decision.EXPLICIT_DENY
    assert decide(document, "s3:PutObject") is Decision.ALLOWED


def test_allows_from_several_policies_add_up() -> None:
    request = AuthorizationRequest("s3:GetObject", BUCKET_OBJECT)
    assert evaluate([policy(allow("s3:PutObject")), policy(allow("s3:GetObject"))], request) is Decision.ALLOWED


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:Get*", "s3:GetObject", True),
        ("S3:GETOBJECT", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get", "s3:GetObject", False),
        ("*", "sagemaker:InvokeEndpoint", True),
    ],
)
def test_actions_match_with_wildcards_and_ignore_case(pattern: str, action: str, matches: bool) -> None:
    expected = Decision.ALLOWED if matches else Decision.IMPLICIT_DENY
    assert decide(policy(allow(pattern)), action) is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("arn:aws:s3:::reports/*", BUCKET_OBJECT, True),
        ("arn:aws:s3:::Reports/*", BUCKET_OBJECT, False),  # resources are case-sensitive
        ("arn:aws:s3:::report?/*", BUCKET_OBJECT, True),
        ("arn:aws:s3:::reports.old/*", "arn:aws:s3:::reportsxold/a", False),  # "." is no wildcard
        ("arn:aws:sagemaker:*:*:model/kmeansendpoint-*", "arn:aws:sagemaker:us-east-1:1:model/Model-abc", False),
    ],
)
def test_resources_match_case_sensitively_with_only_star_and_question_mark(
    pattern: str, resource: str, matches: bool
) -> None:
    assert glob_matches(pattern, resource) is matches


def test_not_action_allows_everything_but_what_it_lists() -> None:
    document = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide(document, "s3:GetObject") is Decision.ALLOWED
    assert decide(document, "iam:CreateUser", "*") is Decision.IMPLICIT_DENY


def test_not_resource_denies_everything_but_what_it_lists() -> None:
    document = policy(allow("s3:*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::reports/*"})
    assert decide(document, "s3:GetObject") is Decision.ALLOWED
    assert decide(document, "s3:GetObject", "arn:aws:s3:::other/x") is Decision.EXPLICIT_DENY


TAGGED = {"StringEquals": {"aws:ResourceTag/team": ["ml", "data"]}}


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"aws:ResourceTag/team": "data"}, Decision.ALLOWED),
        ({"aws:resourcetag/team": "ml"}, Decision.ALLOWED),
        ({"aws:ResourceTag/team": "web"}, Decision.IMPLICIT_DENY),
        ({}, Decision.IMPLICIT_DENY),
    ],
)
def test_a_condition_matches_any_of_its_values_and_a_missing_key_never(
    context: dict[str, str], expected: Decision
) -> None:
    assert decide(policy(allow("s3:GetObject", Condition=TAGGED)), "s3:GetObject", **context) is expected


def test_every_key_of_a_condition_must_hold() -> None:
    condition = {"StringEquals": {"aws:ResourceTag/team": "ml", "aws:ResourceTag/stage": "prod"}}
    document = policy(allow("s3:GetObject", Condition=condition))
    assert decide(document, "s3:GetObject", **{"aws:ResourceTag/team": "ml"}) is Decision.IMPLICIT_DENY
    both = {"aws:ResourceTag/team": "ml", "aws:ResourceTag/stage": "prod"}
    assert decide(document, "s3:GetObject", **both) is Decision.ALLOWED


def test_negated_operators_hold_when_the_key_is_missing_and_if_exists_too() -> None:
    negated = policy(allow("s3:GetObject", Condition={"StringNotEquals": {"aws:ResourceTag/team": "web"}}))
    if_exists = policy(allow("s3:GetObject", Condition={"StringEqualsIfExists": {"aws:ResourceTag/team": "ml"}}))
    assert decide(negated, "s3:GetObject") is Decision.ALLOWED
    assert decide(if_exists, "s3:GetObject") is Decision.ALLOWED
    assert decide(if_exists, "s3:GetObject", **{"aws:ResourceTag/team": "web"}) is Decision.IMPLICIT_DENY


def test_string_like_and_null() -> None:
    like = policy(allow("s3:GetObject", Condition={"StringLike": {"aws:ResourceTag/stack": "KMeansEndpoint-*"}}))
    null = policy(allow("s3:GetObject", Condition={"Null": {"aws:ResourceTag/stack": "true"}}))
    assert decide(like, "s3:GetObject", **{"aws:ResourceTag/stack": "KMeansEndpoint-prod"}) is Decision.ALLOWED
    assert decide(like, "s3:GetObject", **{"aws:ResourceTag/stack": "Other"}) is Decision.IMPLICIT_DENY
    assert decide(null, "s3:GetObject") is Decision.ALLOWED
    assert decide(null, "s3:GetObject", **{"aws:ResourceTag/stack": "x"}) is Decision.IMPLICIT_DENY


def test_s3_prefix_is_evaluated_as_a_list_request_gives_it() -> None:
    listing = policy(allow("s3:ListBucket", Condition={"StringLike": {"s3:prefix": ["input/*", "input"]}}))

    assert decide(listing, "s3:ListBucket", **{"s3:prefix": "input/job-1/"}) is Decision.ALLOWED
    assert decide(listing, "s3:ListBucket", **{"s3:prefix": "output/"}) is Decision.IMPLICIT_DENY
    assert decide(listing, "s3:ListBucket") is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "condition",
    [{"StringEquals": {"s3:delimiter": "a"}}, {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}],
)
def test_what_the_local_aws_cannot_evaluate_is_an_error_never_an_allow(condition: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        decide(policy(allow("s3:GetObject", Condition=condition)), "s3:GetObject")
