"""``DateTime``: the datetime the run hands out (``context.date``,
``context.scheduled_start_time``, a ``DateTimeParameter``'s value).

Prefect 1 gave pendulum ``DateTime`` objects there; this is a plain
``datetime.datetime`` subclass under that name, so code (and records) that look at
the type's name see what they saw in Prefect 1, without pendulum.

>>> import datetime
>>> d = DateTime.instance(datetime.datetime(2024, 5, 6, 7, tzinfo=datetime.timezone.utc))
>>> type(d).__name__, d.isoformat(), d == datetime.datetime(2024, 5, 6, 7, tzinfo=datetime.timezone.utc)
('DateTime', '2024-05-06T07:00:00+00:00', True)
"""

from __future__ import annotations

import datetime

__all__ = ["DateTime"]


class DateTime(datetime.datetime):
    """A ``datetime.datetime`` named as Prefect 1's (see the module docstring)."""

    __slots__ = ()

    @classmethod
    def instance(cls, value: datetime.datetime) -> "DateTime":
        """``value`` (a datetime) as a DateTime: the same instant, zone and fold."""
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second,
                   value.microsecond, value.tzinfo, fold=value.fold)
