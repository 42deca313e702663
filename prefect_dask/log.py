"""Loggers for task code, and capture of ``print`` into them (``log_stdout=True``).

``get_logger()`` inside a task returns a logger named after the flow and task
whose records carry ``flow_name``, ``task_name`` and ``map_index``.  Outside a
run it returns the ``prefect_dask`` logger.
"""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
from typing import Any

from .context import context

__all__ = ["get_logger", "capture_stdout"]

ROOT = "prefect_dask"


class _TaskLogger(logging.LoggerAdapter):
    """Adds the task-run fields to every record."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs.setdefault("extra", {}).update(self.extra)
        return msg, kwargs


def get_logger(name: str | None = None) -> logging.Logger | logging.LoggerAdapter:
    """The logger to use in task code (see module docstring)."""
    flow, task = context.get("flow_name"), context.get("task_name")
    if name is None and task is not None:
        logger = logging.getLogger(f"{ROOT}.{flow}.{task}")
        return _TaskLogger(logger, {"flow_name": flow, "task_name": task,
                                    "map_index": context.get("map_index")})
    return logging.getLogger(ROOT if name is None else f"{ROOT}.{name}")


_stdout_target: contextvars.ContextVar[Any] = contextvars.ContextVar("prefect_dask_stdout", default=None)
_install_lock = threading.Lock()


class _StdoutRouter(io.TextIOBase):
    """Replaces ``sys.stdout``: lines printed by a capturing task go to its logger."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self._partial: dict[int, str] = {}

    def write(self, text: str) -> int:
        logger = _stdout_target.get()
        if logger is None:
            return self.original.write(text)
        key = id(logger)
        buf = self._partial.pop(key, "") + text
        *lines, rest = buf.split("\n")
        for line in lines:
            logger.info(line)
        if rest:
            self._partial[key] = rest
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class capture_stdout:
    """While active in this thread/context, ``print`` output goes to ``logger``."""

    def __init__(self, logger: Any) -> None:
        self.logger = logger

    def __enter__(self) -> "capture_stdout":
        with _install_lock:
            if not isinstance(sys.stdout, _StdoutRouter):
                sys.stdout = _StdoutRouter(sys.stdout)
        self._token = _stdout_target.set(self.logger)
        return self

    def __exit__(self, *exc: Any) -> None:
        router = sys.stdout
        if isinstance(router, _StdoutRouter):
            rest = router._partial.pop(id(self.logger), "")
            if rest:
                self.logger.info(rest)
        _stdout_target.reset(self._token)
