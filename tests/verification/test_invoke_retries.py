"""Cold-start retries and the serverless concurrency cap of the verifier's invocations."""

from __future__ import annotations

import time
from typing import cast

import pytest
from botocore.exceptions import ClientError

from verification.checks import PredictionRun, concurrency_for
from verification.compare import Tolerance
from verification.invoke import retrying_not_ready
from verification.target import Expected


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "InvokeEndpoint")


class Flaky:
    """Answers ModelNotReadyException `failures` times, then succeeds."""

    def __init__(self, failures: int, code: str = "ModelNotReadyException") -> None:
        self.failures, self.code, self.calls = failures, code, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise _error(self.code)
        return "answer"


def test_model_not_ready_is_retried_with_growing_backoff_until_it_answers() -> None:
    call, slept = Flaky(failures=3), list[float]()

    answer = retrying_not_ready(call, until=time.monotonic() + 60, sleep=slept.append)

    assert answer == "answer"
    assert slept == [0.5, 1.0, 2.0]


def test_model_not_ready_past_the_deadline_is_raised() -> None:
    with pytest.raises(ClientError, match="ModelNotReadyException"):
        retrying_not_ready(Flaky(failures=1), until=time.monotonic() - 1, sleep=lambda s: None)


def test_other_errors_are_not_retried_here() -> None:
    call = Flaky(failures=1, code="ValidationError")
    with pytest.raises(ClientError, match="ValidationError"):
        retrying_not_ready(call, until=time.monotonic() + 60, sleep=lambda s: None)
    assert call.calls == 1


@pytest.mark.parametrize(
    ("variant", "expected"),
    [({"VariantName": "A"}, 4), ({"VariantName": "A", "ServerlessConfig": {"MaxConcurrency": 2}}, 2)],
)
def test_a_serverless_variant_gets_no_more_requests_in_flight_than_its_max_concurrency(
    variant: dict[str, object], expected: int
) -> None:
    run = PredictionRun(
        runtime=None, endpoint_name="e", expected=cast(Expected, None), tolerance=Tolerance(), concurrency=4
    )
    assert concurrency_for(run, variant) == expected
