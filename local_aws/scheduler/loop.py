"""The control plane's schedule loop: every enabled schedule fires on its rate, a bounded number per tick.

Rate schedules (`rate(value unit)`) fire every interval from their creation (or StartDate), one-time schedules
(`at(yyyy-mm-ddThh:mm:ss)`) once (Scheduler user guide, "Schedule types"). The loop never catches up more than
the latest missed run of a schedule, and fires at most MAX_FIRES_PER_TICK schedules per tick: it is for the
local AWS's own minutes-long sessions; tests fire at once with `python -m local_aws fire-schedule NAME`.
Cron expressions are not fired here (said once on stderr).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_aws.scheduler.fire import FireError, fire

TICK_S = 10.0
MAX_FIRES_PER_TICK = 10
RATE = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
AT = re.compile(r"^at\((?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def interval_s(expression: str) -> int | None:
    """A rate expression's interval in seconds, or None for any other expression."""
    found = RATE.match(expression)
    return int(found["value"]) * UNIT_S[found["unit"].rstrip("s")] if found else None


def due(expression: str, started: float, last: float | None, now: float) -> float | None:
    """The latest time the schedule was due at or before `now` and after `last`, or None."""
    every = interval_s(expression)
    if every is not None:
        runs = int((now - started) // every)
        at = started + runs * every
        return at if runs >= 1 and (last is None or at > last) else None
    once = AT.match(expression)
    if once is not None:
        at = datetime.fromisoformat(once["time"]).replace(tzinfo=UTC).timestamp()
        return at if at <= now and last is None else None
    return None


@dataclass
class ScheduleLoop:
    """Fires what is due against `endpoint` (this control plane), from moto's scheduler state."""

    endpoint: str
    fired: dict[str, float] = field(default_factory=dict)  # schedule ARN -> the due time last fired
    _warned: set[str] = field(default_factory=set)

    def tick(self, now: float) -> list[str]:
        """Fire every schedule due now (at most MAX_FIRES_PER_TICK); the names fired."""
        fired: list[str] = []
        for schedule in _schedules():
            if len(fired) >= MAX_FIRES_PER_TICK:
                break
            when = self._due(schedule, now)
            if when is None:
                continue
            self.fired[schedule.arn] = when
            try:
                fire(self.endpoint, schedule.name, schedule.group_name, datetime.fromtimestamp(when, UTC))
            except FireError as error:
                print(f"schedule {schedule.name}: {error}", file=sys.stderr)
            fired.append(schedule.name)
        return fired

    def _due(self, schedule: Any, now: float) -> float | None:
        if schedule.state != "ENABLED":
            return None
        expression = schedule.schedule_expression
        if interval_s(expression) is None and AT.match(expression) is None and schedule.arn not in self._warned:
            self._warned.add(schedule.arn)
            print(
                f"schedule {schedule.name}: {expression} is not fired by the local AWS (rate and at only)",
                file=sys.stderr,
            )
        started = float(schedule.start_date or schedule.creation_date)
        return due(expression, started, self.fired.get(schedule.arn), now)

    def run_forever(self) -> None:
        while True:
            time.sleep(TICK_S)
            try:
                self.tick(time.time())
            except Exception as error:  # the loop outlives any one schedule's trouble
                print(f"schedule loop: {type(error).__name__}: {error}", file=sys.stderr)

    def start(self) -> None:
        threading.Thread(target=self.run_forever, name="schedule-loop", daemon=True).start()


def _schedules() -> list[Any]:
    from local_aws import backends

    backend = backends.scheduler()
    return [schedule for group in list(backend.schedule_groups.values()) for schedule in list(group.schedules.values())]
