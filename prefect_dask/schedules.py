"""Schedules for local runs: ``flow.run(run_on_schedule=True, max_runs=N)`` runs the flow at
each time the flow's schedule gives, sleeping in between (on the run's clock).

A ``Schedule`` merges the times of its clocks (``IntervalClock``, ``CronClock``,
``DatesClock``, ``RRuleClock``), keeps those its filters pass (``filters``: all of them;
``or_filters``: at least one; ``not_filters``: none) and moves each by its ``adjustments``
(``shifted_by(timedelta)``, ``next_weekday``, or any ``fn(datetime) -> datetime``).  A
clock's ``parameter_defaults`` are the parameters of the runs it starts.
``IntervalSchedule`` and ``CronSchedule`` are schedules with one clock.  Names and
behaviour are Prefect 1's (``prefect.schedules``, ``.clocks``, ``.filters``,
``.adjustments``), but for one thing: ``next(n, after)`` gives the times at *or* after
``after``.

>>> import datetime
>>> start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)   # a Thursday
>>> s = IntervalSchedule(datetime.timedelta(days=1), start_date=start)
>>> [t.day for t in s.next(3, after=start)]
[1, 2, 3]
>>> weekdays = Schedule([IntervalClock(datetime.timedelta(days=1), start)], filters=[is_weekday])
>>> [t.day for t in weekdays.next(3, after=start)]
[1, 2, 5]
"""

from __future__ import annotations

import datetime
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import TaskDefinitionError

__all__ = [
    "Schedule", "IntervalSchedule", "CronSchedule", "ClockEvent", "Clock", "IntervalClock",
    "CronClock", "DatesClock", "RRuleClock", "on_datetime", "on_date", "at_time",
    "between_datetimes", "between_times", "between_dates", "is_weekday", "is_weekend",
    "is_month_start", "is_month_end", "is_day_of_week", "shifted_by", "next_weekday",
    "run_on_schedule",
]

UTC = datetime.timezone.utc
MAX_CHECKED = 10_000     # events a schedule looks at for n times (filters may refuse them all)


def _now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def _utc(when: datetime.datetime | None) -> datetime.datetime | None:
    """A naive datetime read as UTC (as Prefect 1 did)."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


# -- clocks --------------------------------------------------------------------------------

class ClockEvent:
    """One time a clock gives, with the ``parameter_defaults`` and ``labels`` of its clock.
    Ordered by time; equal to another event with the same fields, or to its time."""

    __slots__ = ("start_time", "parameter_defaults", "labels")

    def __init__(self, start_time: datetime.datetime, parameter_defaults: dict | None = None,
                 labels: list[str] | None = None) -> None:
        self.start_time = start_time
        self.parameter_defaults = dict(parameter_defaults or {})
        self.labels = labels

    def _key(self) -> tuple:
        return (self.start_time, self.parameter_defaults, self.labels)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, datetime.datetime):
            return self.start_time == other
        return isinstance(other, ClockEvent) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: "ClockEvent | datetime.datetime") -> bool:
        return self.start_time < getattr(other, "start_time", other)

    def __gt__(self, other: "ClockEvent | datetime.datetime") -> bool:
        return self.start_time > getattr(other, "start_time", other)

    def __repr__(self) -> str:
        return f"<ClockEvent {self.start_time.isoformat()} {self.parameter_defaults or ''}>"


class Clock:
    """Base of the clocks: the times of ``_times(after)`` up to ``end_date`` as events."""

    def __init__(self, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None,
                 parameter_defaults: dict | None = None, labels: list[str] | None = None) -> None:
        self.start_date, self.end_date = _utc(start_date), _utc(end_date)
        if parameter_defaults is not None and not isinstance(parameter_defaults, dict):
            raise TaskDefinitionError(
                f"{type(self).__name__}(parameter_defaults={parameter_defaults!r}) must be a dict "
                "of parameter names to the values the runs it starts get.")
        self.parameter_defaults = dict(parameter_defaults or {})
        self.labels = labels

    def events(self, after: datetime.datetime | None = None) -> Iterator[ClockEvent]:
        """The clock's events at or after ``after`` (default: now), in time order."""
        for when in self._times(_utc(after) or _now()):
            if self.end_date is not None and when > self.end_date:
                return
            yield ClockEvent(when, self.parameter_defaults, self.labels)

    def _times(self, after: datetime.datetime) -> Iterator[datetime.datetime]:
        raise NotImplementedError


class IntervalClock(Clock):
    """Every ``interval`` from ``start_date`` (default: the first time it is asked)."""

    def __init__(self, interval: datetime.timedelta, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None, parameter_defaults: dict | None = None,
                 labels: list[str] | None = None, *, owner: str = "IntervalClock") -> None:
        if not isinstance(interval, datetime.timedelta) or interval.total_seconds() <= 0:
            raise TaskDefinitionError(
                f"{owner}(interval={interval!r}) needs a positive datetime.timedelta, e.g. "
                "timedelta(minutes=5).")
        super().__init__(start_date, end_date, parameter_defaults, labels)
        self.interval = interval

    def _times(self, after: datetime.datetime) -> Iterator[datetime.datetime]:
        if self.start_date is None:   # anchored at the first time it is asked
            self.start_date = after
        start = self.start_date
        steps = max(0, -(-(after - start) // self.interval))   # ceil, never before start
        for k in itertools.count(steps):
            yield start + k * self.interval


class CronClock(Clock):
    """At the times a cron string gives (``"*/5 * * * *"``); needs ``croniter``."""

    def __init__(self, cron: str, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None, parameter_defaults: dict | None = None,
                 labels: list[str] | None = None, day_or: bool | None = None, *,
                 owner: str = "CronClock") -> None:
        try:
            from croniter import croniter
        except ImportError:
            raise TaskDefinitionError(f"{owner} needs croniter: pip install "
                                      "'prefect_dask[schedules]'.") from None
        if not isinstance(cron, str) or not croniter.is_valid(cron):
            raise TaskDefinitionError(
                f"{owner}({cron!r}): not a cron string; use five fields, e.g. "
                "'*/5 * * * *' (every 5 minutes) or '0 9 * * 1-5' (9:00 on weekdays).")
        super().__init__(start_date, end_date, parameter_defaults, labels)
        self.cron, self.day_or = cron, True if day_or is None else day_or

    def _times(self, after: datetime.datetime) -> Iterator[datetime.datetime]:
        from croniter import croniter

        after = max(after, self.start_date or after)
        it = croniter(self.cron, after - datetime.timedelta(microseconds=1), day_or=self.day_or)
        while True:
            yield it.get_next(datetime.datetime)


class DatesClock(Clock):
    """At each of ``dates`` (naive ones are UTC)."""

    def __init__(self, dates: Iterable[datetime.datetime], parameter_defaults: dict | None = None,
                 labels: list[str] | None = None) -> None:
        dates = list(dates)
        bad = [d for d in dates if not isinstance(d, datetime.datetime)]
        if bad:
            raise TaskDefinitionError(f"DatesClock: {bad[0]!r} is not a datetime; give a list "
                                      "of datetime.datetime values.")
        super().__init__(None, None, parameter_defaults, labels)
        self.dates = sorted(_utc(d) for d in dates)

    def _times(self, after: datetime.datetime) -> Iterator[datetime.datetime]:
        return (d for d in self.dates if d >= after)


class RRuleClock(Clock):
    """At the times a ``dateutil.rrule`` (or ``rruleset``) gives, from ``start_date`` if
    given (naive times are UTC)."""

    def __init__(self, rrule_obj: Any, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None, parameter_defaults: dict | None = None,
                 labels: list[str] | None = None) -> None:
        from dateutil import rrule   # who has an rrule has dateutil

        if not isinstance(rrule_obj, rrule.rrulebase):
            raise TaskDefinitionError(
                f"RRuleClock({rrule_obj!r:.60}): give a dateutil rrule or rruleset, e.g. "
                "rrule(DAILY, byhour=9).")
        super().__init__(start_date, end_date, parameter_defaults, labels)
        self.rrule_obj = rrule_obj

    def _times(self, after: datetime.datetime) -> Iterator[datetime.datetime]:
        after = max(after, self.start_date or after)
        first = next(iter(self.rrule_obj), None)
        if first is None:
            return
        if first.tzinfo is None:     # the rule's times are naive: compare in naive UTC
            after = after.astimezone(UTC).replace(tzinfo=None)
        for when in self.rrule_obj.xafter(after, inc=True):
            yield _utc(when)  # type: ignore[misc]


# -- schedules -------------------------------------------------------------------------

class Schedule:
    """The times of ``clocks`` that pass the filters, adjusted (see module docstring)."""

    def __init__(self, clocks: Iterable[Clock],
                 filters: Iterable[Callable[[datetime.datetime], bool]] | None = None,
                 or_filters: Iterable[Callable[[datetime.datetime], bool]] | None = None,
                 not_filters: Iterable[Callable[[datetime.datetime], bool]] | None = None,
                 adjustments: Iterable[Callable[[datetime.datetime], datetime.datetime]]
                 | None = None) -> None:
        self.clocks = list(clocks)
        bad = [c for c in self.clocks if not isinstance(c, Clock)]
        if bad or not self.clocks:
            raise TaskDefinitionError(
                f"Schedule(clocks=...) needs a list of clocks, got {bad[0] if bad else []!r}; "
                "e.g. Schedule(clocks=[IntervalClock(timedelta(hours=1))]).")
        self.filters, self.or_filters = list(filters or ()), list(or_filters or ())
        self.not_filters, self.adjustments = list(not_filters or ()), list(adjustments or ())
        for f in self.filters + self.or_filters + self.not_filters + self.adjustments:
            if not callable(f):
                raise TaskDefinitionError(
                    f"Schedule: filter or adjustment {f!r} is not callable; a filter is "
                    "fn(datetime) -> bool (e.g. is_weekday), an adjustment fn(datetime) -> "
                    "datetime.")

    def passes(self, when: datetime.datetime) -> bool:
        """Whether ``when`` passes the filters."""
        return all(f(when) for f in self.filters) \
            and (not self.or_filters or any(f(when) for f in self.or_filters)) \
            and not any(f(when) for f in self.not_filters)

    def next(self, n: int, after: datetime.datetime | None = None,
             return_events: bool = False) -> list[Any]:
        """The next ``n`` times at or after ``after`` (default: now); ``ClockEvent``s with
        ``return_events``.  At most 10,000 clock events are looked at."""
        after = _utc(after) or _now()
        merged = heapq.merge(*(c.events(after) for c in self.clocks))
        out: list[Any] = []
        for event, _ in itertools.groupby(itertools.islice(merged, MAX_CHECKED)):
            if len(out) == n:
                break
            if self.passes(event.start_time):
                when = event.start_time
                for adjust in self.adjustments:
                    when = adjust(when)
                out.append(ClockEvent(when, event.parameter_defaults, event.labels)
                           if return_events else when)
        return out


def _prefect1_order(first: Any, second: Any) -> tuple[Any, Any]:
    """``(start_date, interval)`` given positionally as Prefect 1 ordered them: swapped."""
    if isinstance(first, datetime.datetime) and isinstance(second, datetime.timedelta):
        return second, first
    return first, second


class IntervalSchedule(Schedule):
    """Every ``interval`` from ``start_date`` (default: now), until ``end_date`` if given.

    ``IntervalSchedule(start_date, interval)``, Prefect 1's positional order, works too."""

    def __init__(self, interval: datetime.timedelta | None = None,
                 start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None) -> None:
        interval, start_date = _prefect1_order(interval, start_date)
        self.clock = IntervalClock(interval, start_date, end_date,  # type: ignore[arg-type]
                                   owner="IntervalSchedule")
        super().__init__([self.clock])

    interval = property(lambda self: self.clock.interval)
    start_date = property(lambda self: self.clock.start_date)
    end_date = property(lambda self: self.clock.end_date)


class CronSchedule(Schedule):
    """At the times a cron string gives (``"*/5 * * * *"``); needs ``croniter``."""

    def __init__(self, cron: str, start_date: datetime.datetime | None = None,
                 end_date: datetime.datetime | None = None, day_or: bool | None = None) -> None:
        self.clock = CronClock(cron, start_date, end_date, day_or=day_or, owner="CronSchedule")
        super().__init__([self.clock])

    cron = property(lambda self: self.clock.cron)
    start_date = property(lambda self: self.clock.start_date)
    end_date = property(lambda self: self.clock.end_date)


# -- filters (Prefect 1's prefect.schedules.filters) -------------------------------------

def on_datetime(dt: datetime.datetime) -> Callable[[datetime.datetime], bool]:
    """Only at ``dt`` (naive means UTC)."""
    dt = _utc(dt)  # type: ignore[assignment]
    return lambda when: when == dt


def on_date(month: int, day: int) -> Callable[[datetime.datetime], bool]:
    """Only on this day of any year."""
    return lambda when: (when.month, when.day) == (month, day)


def at_time(t: datetime.time) -> Callable[[datetime.datetime], bool]:
    """Only at this time of day."""
    return lambda when: when.time() == t


def between_datetimes(start: datetime.datetime,
                      end: datetime.datetime) -> Callable[[datetime.datetime], bool]:
    """Only from ``start`` to ``end``, both included (naive means UTC)."""
    start, end = _utc(start), _utc(end)  # type: ignore[assignment]
    return lambda when: start <= when <= end


def between_times(start: datetime.time, end: datetime.time) -> Callable[[datetime.datetime], bool]:
    """Only from ``start`` to ``end`` o'clock, across midnight if ``end`` is earlier."""
    if start <= end:
        return lambda when: start <= when.time() <= end
    return lambda when: when.time() >= start or when.time() <= end


def between_dates(start_month: int, start_day: int, end_month: int,
                  end_day: int) -> Callable[[datetime.datetime], bool]:
    """Only from one day of the year to another, across new year if the end is earlier."""
    start, end = (start_month, start_day), (end_month, end_day)
    if start <= end:
        return lambda when: start <= (when.month, when.day) <= end
    return lambda when: (when.month, when.day) >= start or (when.month, when.day) <= end


def is_weekday(when: datetime.datetime) -> bool:
    """Monday to Friday."""
    return when.weekday() < 5


def is_weekend(when: datetime.datetime) -> bool:
    """Saturday or Sunday."""
    return when.weekday() > 4


def is_month_start(when: datetime.datetime) -> bool:
    """The first day of a month."""
    return when.day == 1


def is_month_end(when: datetime.datetime) -> bool:
    """The last day of a month."""
    return (when + datetime.timedelta(days=1)).month != when.month


def is_day_of_week(day_of_week: int) -> Callable[[datetime.datetime], bool]:
    """Only on this day of the week (Monday is 0, as ``datetime.weekday()``)."""
    return lambda when: when.weekday() == day_of_week


# -- adjustments (Prefect 1's prefect.schedules.adjustments: add, next_weekday) ----------

def shifted_by(interval: datetime.timedelta) -> Callable[[datetime.datetime], datetime.datetime]:
    """An adjustment moving each time by ``interval`` (Prefect 1's ``adjustments.add``)."""
    return lambda when: when + interval


def next_weekday(when: datetime.datetime) -> datetime.datetime:
    """An adjustment moving a Saturday or Sunday time to the Monday after."""
    while not is_weekday(when):
        when += datetime.timedelta(days=1)
    return when


# -- running on a schedule ---------------------------------------------------------------

def run_on_schedule(flow: Any, schedule: Any, max_runs: int | None, clock: Any,
                    run_once: Callable[[dict], Any]) -> Any:
    """Run ``run_once(parameter_defaults)`` at each scheduled time (at most ``max_runs``
    times), with the parameter defaults of the clock that gave the time; the last state."""
    state, runs, last = None, 0, None
    while max_runs is None or runs < max_runs:
        now = datetime.datetime.fromtimestamp(clock.now(), UTC)
        after = now if last is None else max(now, last + datetime.timedelta(microseconds=1))
        upcoming = schedule.next(1, after=after, return_events=True)
        if not upcoming:
            break
        last = upcoming[0].start_time
        clock.sleep(max(0.0, last.timestamp() - clock.now()))
        state = run_once(upcoming[0].parameter_defaults)
        runs += 1
    if state is None:
        raise ValueError(f"Flow {flow.name!r} has no more scheduled runs.")
    return state
