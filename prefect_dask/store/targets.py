"""Result locations: ``target`` templates and the default checkpoint layout.

A ``target`` is a ``str.format`` template (or a callable taking the same fields
as keyword arguments) over the task's inputs, the flow's parameters (also as
``parameters[name]``) and the run context (``flow_name``, ``task_name``,
``map_index``, ``flow_run_id``, ``today``, ``date``...).

>>> render("{task_name}/{map_index}-{parameters[day]}.pkl",
...        {"task_name": "load", "map_index": 3, "parameters": {"day": "mon"}})
'load/3-mon.pkl'
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import TargetError

__all__ = ["CONTEXT_FIELDS", "render", "check_template", "default_location",
           "checkpoint_folder", "checkpoint_index"]

CONTEXT_FIELDS = (
    "flow_name", "flow_run_id", "task_name", "task_full_name", "task_slug", "task_tags",
    "map_index", "task_run_count", "parameters", "date", "today", "yesterday", "tomorrow",
    "today_nodash", "yesterday_nodash", "tomorrow_nodash", "scheduled_start_time",
)


def render(target: str | Callable[..., str], fields: Mapping[str, Any]) -> str:
    """The location ``target`` names for these fields."""
    return target(**fields) if callable(target) else target.format(**fields)


def check_template(template: Any, owner: str, names: Iterable[str], what: str = "target") -> None:
    """Raise TargetError if a ``target`` (or result location, ``what``) template uses a field
    that will not exist."""
    if not isinstance(template, str):
        return
    known = set(CONTEXT_FIELDS) | set(names)
    try:
        used = {f.split(".")[0].split("[")[0]
                for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError as exc:
        raise TargetError(
            f"{owner}: {what} {template!r} is not a valid template ({exc}).") from None
    unknown = sorted(used - known)
    if unknown:
        raise TargetError(
            f"{owner}: {what} {template!r} uses unknown field(s) {', '.join(map(repr, unknown))}; "
            f"available fields: {', '.join(sorted(known))}."
        )


def checkpoint_folder(flow_name: str, slug: str, run_id: str) -> str:
    """The folder of one run's checkpoints of one task (those without a ``target``)."""
    return f"{flow_name}/{slug}/{run_id}"


def default_location(flow_name: str, slug: str, map_index: int | None, run_id: str) -> str:
    """Where a checkpointed result goes when the task has no ``target``.

    >>> default_location("etl", "load-1", 7, "r1")
    'etl/load-1/r1/7.pkl'
    """
    child = "task" if map_index is None else str(map_index)
    return f"{checkpoint_folder(flow_name, slug, run_id)}/{child}.pkl"


def checkpoint_index(name: str) -> int | None | bool:
    """The map index (None: not mapped) of a file in a ``checkpoint_folder``, or False if
    the file is not a checkpoint (a temporary file being written, anything else).

    >>> checkpoint_index("7.pkl"), checkpoint_index("task.pkl"), checkpoint_index(".7.pkl.x.tmp")
    (7, None, False)
    """
    stem, dot, ext = name.partition(".")
    if ext != "pkl":
        return False
    if stem == "task":
        return None
    return int(stem) if stem.isdigit() else False


def location_template(task: Any, flow_result: Any = None) -> str | Callable[..., str] | None:
    """Where ``task``'s result goes, as a template: its ``target``, else the ``location`` of
    its Result (or of the flow's), as in Prefect 1; None for the default layout."""
    if task.target:
        return task.target
    store = task.result if task.result is not None else flow_result
    return getattr(store, "location", None)
