"""Schedules for local runs: ``flow.run(run_on_schedule=True, max_runs=N)`` runs the flow at
each time the flow's schedule gives, sleeping in between.

>>> import datetime
>>> start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
>>> s = IntervalSchedule(datetime.timedelta(hours=1), start_date=start)
>>> [t.hour for t in s.next(3, after=start)]
[0, 1, 2]
"""

from __future__ import annotations

import datetime
from typing import Any

from .errors import TaskDefinitionError

__all__ = ["IntervalSchedule", "CronSchedule"]

UTC = datetime.timezone.utc


def _now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def _utc(when: datetime.datetime | None) -> datetime.datetime | None:
    """A naive datetime read as UTC (as Prefect 1 did)."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


class IntervalSchedule:
    """Every ``interval`` from ``start_date`` (default: now), until ``end_date`` if given."""

    def __init__(self, interval: datetime.timedelta, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None) -> None:
        if not isinstance(interval, datetime.timedelta) or interval.total_seconds() <= 0:
            raise TaskDefinitionError(
                f"IntervalSchedule(interval={interval!r}) needs a positive datetime.timedelta.")
        self.interval, self.start_date, self.end_date = interval, _utc(start_date), _utc(end_date)

    def next(self, n: int, after: datetime.datetime | None = None) -> list[datetime.datetime]:
        """The next ``n`` times at or after ``after`` (default: now)."""
        after = _utc(after) or _now()
        if self.start_date is None:  # anchored at the first time it is asked
            self.start_date = after
        start = self.start_date
        steps = max(0, -(-(after - start) // self.interval))  # ceil, never before start
        times = [start + (steps + k) * self.interval for k in range(n)]
        return [t for t in times if self.end_date is None or t <= self.end_date]


class CronSchedule:
    """At the times a cron string gives (``"*/5 * * * *"``); needs ``croniter``."""

    def __init__(self, cron: str, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None) -> None:
        try:
            from croniter import croniter
        except ImportError:
            raise TaskDefinitionError("CronSchedule needs croniter: pip install "
                                      "'prefect_dask[schedules]'.") from None
        if not isinstance(cron, str) or not croniter.is_valid(cron):
            raise TaskDefinitionError(
                f"CronSchedule({cron!r}): not a cron string; use five fields, e.g. "
                "'*/5 * * * *' (every 5 minutes) or '0 9 * * 1-5' (9:00 on weekdays).")
        self.cron, self.start_date, self.end_date = cron, _utc(start_date), _utc(end_date)

    def next(self, n: int, after: datetime.datetime | None = None) -> list[datetime.datetime]:
        from croniter import croniter

        after = _utc(after) or _now()
        after = max(after, self.start_date or after)
        it = croniter(self.cron, after - datetime.timedelta(microseconds=1))
        times = [it.get_next(datetime.datetime) for _ in range(n)]
        return [t for t in times if self.end_date is None or t <= self.end_date]


def run_on_schedule(flow: Any, schedule: Any, max_runs: int | None, clock: Any,
                    run_once: Any) -> Any:
    """Run ``run_once()`` at each scheduled time (at most ``max_runs`` times); the last state."""
    state, runs, last = None, 0, None
    while max_runs is None or runs < max_runs:
        now = datetime.datetime.fromtimestamp(clock.now(), UTC)
        after = now if last is None else max(now, last + datetime.timedelta(microseconds=1))
        upcoming = schedule.next(1, after=after)
        if not upcoming:
            break
        last = upcoming[0]
        clock.sleep(max(0.0, last.timestamp() - clock.now()))
        state = run_once()
        runs += 1
    if state is None:
        raise ValueError(f"Flow {flow.name!r} has no more scheduled runs.")
    return state
