"""Loggers for task code, their capture, and ``print`` capture (``log_stdout=True``).

``get_logger()`` inside a task returns a logger named after the flow and task
whose records carry ``flow_name``, ``task_name`` and ``map_index``.  Outside a
run it returns the ``prefect_dask`` logger.

While a task runs, its records are not emitted where it runs (a worker
thread, process or remote Dask worker): they are kept as plain dicts on the
task's State, and the driver re-emits them on its own loggers, in order, as
each task finishes, and saves them in the run record.  The same thing happens
on every executor.

Logging is configured only if the program did not configure it: then
``prefect_dask`` logs to stderr at ``PREFECT_DASK_LOGGING_LEVEL`` (or Prefect 1's
``PREFECT__LOGGING__LEVEL``; default INFO) with ``PREFECT_DASK_LOGGING_FORMAT`` (or
``PREFECT__LOGGING__FORMAT``).
"""

from __future__ import annotations

import contextvars
import functools
import io
import os
import logging
import sys
import threading
from typing import Any

from .context import context

__all__ = ["get_logger", "capture_stdout", "capture_logs", "emit", "configure_logging"]

ROOT = "prefect_dask"
DEFAULT_FORMAT = "[%(asctime)s] %(levelname)s - %(name)s | %(message)s"

_sink: contextvars.ContextVar[Any] = contextvars.ContextVar("prefect_dask_log_sink", default=None)


class _TaskLogger(logging.LoggerAdapter):
    """Adds the task-run fields to every record, and keeps records for the driver."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs.setdefault("extra", {}).update(self.extra, map_index=context.get("map_index"))
        return msg, kwargs

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        sink = _sink.get()
        if sink is None:
            super().log(level, msg, *args, **kwargs)
            return
        records, threshold = sink
        if level < threshold:
            return
        msg, kwargs = self.process(msg, kwargs)
        exc_info = kwargs.get("exc_info")
        if exc_info and not isinstance(exc_info, tuple):
            exc_info = sys.exc_info()
        record = self.logger.makeRecord(self.logger.name, level, "(task)", 0, msg, args,
                                        exc_info or None, extra=kwargs.get("extra"))
        records.append(_plain_record(record))


def _plain_record(record: logging.LogRecord) -> dict:
    """A LogRecord as a small picklable, msgpack-able dict."""
    out = {k: v for k, v in record.__dict__.items()
           if isinstance(v, (str, int, float, bool, type(None)))}
    out["msg"], out["args"] = record.getMessage(), None
    if record.exc_info:
        out["exc_text"] = logging.Formatter().formatException(record.exc_info)
    out.pop("exc_info", None)
    return out


class capture_logs:
    """While active, records of task loggers at ``level`` or above are kept in ``records``."""

    def __init__(self, level: int) -> None:
        self.records: list[dict] = []
        self.level = level

    def __enter__(self) -> "capture_logs":
        self._token = _sink.set((self.records, self.level))
        return self

    def __exit__(self, *exc: Any) -> None:
        _sink.reset(self._token)


def emit(records: Any) -> None:
    """Re-emit captured records on this process's loggers."""
    for rec in records:
        logging.getLogger(rec.get("name", ROOT)).handle(logging.makeLogRecord(rec))


def configure_logging(level: str | int | None = None) -> int:
    """Log ``prefect_dask`` to stderr unless the program configured logging; returns the level.

    ``level`` (or ``PREFECT_DASK_LOGGING_LEVEL``, default INFO) sets the level.
    """
    logger = logging.getLogger(ROOT)
    level = (level or os.environ.get("PREFECT_DASK_LOGGING_LEVEL")
             or os.environ.get("PREFECT__LOGGING__LEVEL") or None)
    if level is not None:
        logger.setLevel(level if isinstance(level, int) else str(level).upper())
    elif logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(os.environ.get("PREFECT_DASK_LOGGING_FORMAT")
                                               or os.environ.get("PREFECT__LOGGING__FORMAT")
                                               or DEFAULT_FORMAT))
        logger.addHandler(handler)
    return logger.getEffectiveLevel()


def get_logger(name: str | None = None) -> logging.Logger | logging.LoggerAdapter:
    """The logger to use in task code (see module docstring)."""
    flow, task = context.get("flow_name"), context.get("task_name")
    if name is None and task is not None:
        return task_logger(flow, task)
    return logging.getLogger(ROOT if name is None else f"{ROOT}.{name}")


@functools.lru_cache(maxsize=4096)
def task_logger(flow: str, task: str) -> logging.LoggerAdapter:
    """The logger of a task (one per flow and task; records carry the current map index)."""
    return _TaskLogger(logging.getLogger(f"{ROOT}.{flow}.{task}"),
                       {"flow_name": flow, "task_name": task})


_stdout_target: contextvars.ContextVar[Any] = contextvars.ContextVar("prefect_dask_stdout", default=None)
_install_lock = threading.Lock()


class _StdoutRouter(io.TextIOBase):
    """Replaces ``sys.stdout``: lines printed by a capturing task run go to its logger."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def write(self, text: str) -> int:
        capture = _stdout_target.get()
        if capture is None:
            return self.original.write(text)
        capture.write(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class capture_stdout:
    """While active in this context, ``print`` output goes to ``logger``, one record per line.

    One object per task run: the unfinished line it buffers is that run's alone, so
    concurrent runs of one task (mapped children on threads) never share a line.
    """

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self._partial = ""

    def write(self, text: str) -> None:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.logger.info(line)

    def __enter__(self) -> "capture_stdout":
        with _install_lock:
            if not isinstance(sys.stdout, _StdoutRouter):
                sys.stdout = _StdoutRouter(sys.stdout)
        self._token = _stdout_target.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._partial:
            self.logger.info(self._partial)
            self._partial = ""
        _stdout_target.reset(self._token)
