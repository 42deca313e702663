"""Helpers for writing Task classes: ``defaults_from_attrs``.

A library task keeps its settings as attributes set in ``__init__`` and lets a
call in a flow override each one: ``ShellTask(shell="sh")(command="ls")``.

>>> from prefect_dask import Task
>>> class Greet(Task):
...     def __init__(self, greeting="hello", **kwargs):
...         self.greeting = greeting
...         super().__init__(**kwargs)
...     @defaults_from_attrs("greeting")
...     def run(self, who, greeting=None):
...         return f"{greeting} {who}"
>>> Greet().run("ann"), Greet().run("bob", greeting="hi"), Greet("hey").run("cy")
('hello ann', 'hi bob', 'hey cy')
"""

from __future__ import annotations

import datetime
import functools
import inspect
from collections.abc import Callable
from typing import Any

from .. import signals
from ..context import context
from ..errors import TaskOptionError

__all__ = ["defaults_from_attrs", "pause_task"]


def pause_task(message: str | None = None, duration: datetime.timedelta | None = None) -> None:
    """Inside a task: end it ``Paused`` (raises ``signals.PAUSE``), until it is resumed
    (``flow.run(task_states={task: Resume()})``), which runs the whole task again and
    makes this call return.  ``duration``: the Paused state's ``start_time`` is now plus it
    (None without it), as in Prefect 1.4.1."""
    if context.get("resume", False):
        return
    until = None if duration is None else datetime.datetime.now(datetime.timezone.utc) + duration
    raise signals.PAUSE(message or "Pause signal raised during task execution.",
                        start_time=until)


def defaults_from_attrs(*attr_names: str) -> Callable[[Callable], Callable]:
    """Decorate ``run`` so each argument named here that the call does not pass takes
    ``self.<name>`` (an explicitly passed ``None`` stays ``None``, as in Prefect 1)."""
    for name in attr_names:
        if not isinstance(name, str):
            raise TypeError(f"defaults_from_attrs({name!r}): give the names of run()'s "
                            "arguments as strings, e.g. @defaults_from_attrs('command').")

    def decorate(run: Callable) -> Callable:
        sig = inspect.signature(run)
        missing = [n for n in attr_names if n not in sig.parameters]
        if missing:
            raise TypeError(
                f"defaults_from_attrs on {run.__qualname__}: run() has no argument "
                f"{', '.join(map(repr, missing))}; each name must be an argument of run() "
                "and an attribute the task sets in __init__."
            )

        @functools.wraps(run)
        def run_with_defaults(self: Any, *args: Any, **kwargs: Any) -> Any:
            given = sig.bind_partial(self, *args, **kwargs).arguments
            for name in attr_names:
                if name not in given:
                    try:
                        kwargs[name] = getattr(self, name)
                    except AttributeError:
                        raise TaskOptionError(
                            f"Task {getattr(self, 'name', type(self).__name__)!r}: run() takes "
                            f"its default for {name!r} from self.{name} (defaults_from_attrs), "
                            f"but the task has no such attribute; set self.{name} in __init__ "
                            "before calling super().__init__().") from None
            return run(self, *args, **kwargs)

        return run_with_defaults

    return decorate
