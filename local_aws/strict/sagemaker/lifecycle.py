"""An endpoint's statuses over time: Creating, Updating while the old config serves, RollingBack, InService.

Both delays are 0 by default, so `make demo` and the tests stay fast; set them when starting the local AWS to
watch an update bake. SageMaker's blue/green update watches the rollback alarms while it bakes and, if one
is in ALARM, rolls back to the old config. AWS does not document what CloudFormation then reports; the
worse case for the user is modelled: CloudFormation reports success, `FailureReason` stays empty, and only
comparing the endpoint's config with the declared one (the verifier's check) catches it
(terraform-provider-aws#39099, #48997).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.sagemaker.models import FakeEndpoint

from local_aws import backends
from local_aws.rules import enforced

PROVISION_SECONDS_VARIABLE = "LOCAL_AWS_PROVISION_SECONDS"  # Creating -> InService/Failed (API calls)
BAKE_SECONDS_VARIABLE = "LOCAL_AWS_BAKE_SECONDS"  # Updating, alarms watched -> InService or RollingBack
ROLLBACK_SECONDS = 1.0  # how long RollingBack shows before the old config is InService again
POLL_S = 0.1


def provision_seconds() -> float:
    return float(os.environ.get(PROVISION_SECONDS_VARIABLE, "0"))


def bake_seconds() -> float:
    return float(os.environ.get(BAKE_SECONDS_VARIABLE, "0"))


@dataclass
class Transition:
    """What the endpoint becomes at `due`: the update applied, unless an alarm fired while it baked."""

    due: float
    apply: Any  # () -> None: the new config, variants and capture, set on the endpoint
    final_status: str = "InService"
    alarms: tuple[str, ...] = ()
    alarmed: bool = False
    rolling_back_until: float | None = field(default=None)


_TRANSITIONS: dict[str, Transition] = {}
_LOCK = threading.RLock()


def schedule(endpoint: FakeEndpoint, status: str, transition: Transition) -> None:
    with _LOCK:
        endpoint.endpoint_status = status
        _TRANSITIONS[endpoint.endpoint_name] = transition


def advance(endpoint: FakeEndpoint) -> None:
    """Bring the endpoint's status up to now (called whenever it is read or changed)."""
    with _LOCK:
        transition = _TRANSITIONS.get(endpoint.endpoint_name)
        if transition is None:
            return
        now = time.monotonic()
        transition.alarmed |= enforced("alarm-rollback") and _any_in_alarm(transition.alarms)
        if transition.rolling_back_until is not None:
            if now >= transition.rolling_back_until:
                endpoint.endpoint_status = "InService"
                del _TRANSITIONS[endpoint.endpoint_name]
            return
        if now < transition.due:
            return
        if transition.alarmed:
            endpoint.endpoint_status = "RollingBack"  # FailureReason stays empty: the worse case
            transition.rolling_back_until = now + ROLLBACK_SECONDS
            return
        transition.apply()
        endpoint.endpoint_status = transition.final_status
        del _TRANSITIONS[endpoint.endpoint_name]


def settle(endpoint: FakeEndpoint, timeout_s: float) -> None:
    """Wait, as CloudFormation does, until the endpoint leaves Creating, Updating and RollingBack."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        advance(endpoint)
        with _LOCK:
            settled = endpoint.endpoint_name not in _TRANSITIONS
        if settled:
            return
        time.sleep(POLL_S)


def forget(endpoint_name: str) -> None:
    with _LOCK:
        _TRANSITIONS.pop(endpoint_name, None)


def _any_in_alarm(names: tuple[str, ...]) -> bool:
    alarms = backends.cloudwatch().alarms
    return any(name in alarms and alarms[name].state_value == "ALARM" for name in names)
