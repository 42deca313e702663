"""Loggers for task code, their capture, and ``print`` capture (``log_stdout=True``).

``get_logger()`` inside a task (and ``task.logger``, ``context.logger``) returns
the task's logger, ``prefect_dask.<task name>`` as in Prefect 1 (``prefect.<task
name>``), whose records carry ``flow_name``, ``task_name`` and ``map_index``.
``get_logger(name)`` is that same logger, so a handler added to it on the driver
sees the records of task ``name``.  Outside a run ``get_logger()`` returns the
``prefect_dask`` logger.

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
import linecache
import os
import logging
import sys
import threading
import traceback
from collections import Counter
from typing import Any

from ..context import context

__all__ = ["get_logger", "capture_stdout", "capture_logs", "emit", "configure_logging",
           "task_event", "format_traceback", "Relay", "RUNNER"]

ROOT = "prefect_dask"
RUNNER = "prefect_dask.TaskRunner"   # the engine's lines about each task run (Prefect 1's name)
TRACEBACKS = 3                       # tracebacks shown per task; the others are counted
DEFAULT_FORMAT = "[%(asctime)s] %(levelname)s - %(name)s | %(message)s"

_sink: contextvars.ContextVar[Any] = contextvars.ContextVar("prefect_dask_log_sink", default=None)


class _TaskLogger(logging.LoggerAdapter):
    """Adds the task-run fields to every record (the flow and task it was made for, else
    those of the task running), and keeps records for the driver while a task runs."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = kwargs.setdefault("extra", {})
        if not self.extra:
            extra.update(flow_name=context.get("flow_name"), task_name=context.get("task_name"))
        extra.update(self.extra, map_index=context.get("map_index"))
        return msg, kwargs

    def __getattr__(self, name: str) -> Any:
        """Everything else is the logger's (``addHandler``, ``handlers``, ``propagate``...),
        as Prefect 1's task loggers were plain Loggers."""
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.logger, name)

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


@functools.lru_cache(maxsize=4096)
def named_logger(name: str | None = None) -> logging.LoggerAdapter:
    """``prefect_dask`` or ``prefect_dask.<name>``, whose records keep to the driver with the
    fields of the task running when one logs to it from task code (see ``_TaskLogger``);
    outside task runs it logs as the plain logger does."""
    return _TaskLogger(logging.getLogger(ROOT if name is None else f"{ROOT}.{name}"), {})


#: ``context.logger`` outside a run (and ``get_logger()``): the ``prefect_dask`` logger.
package_logger = named_logger(None)   # the key get_logger() looks it up by


def _plain_record(record: logging.LogRecord) -> dict:
    """A LogRecord as a small picklable, msgpack-able dict."""
    out = {k: v for k, v in record.__dict__.items()
           if isinstance(v, (str, int, float, bool, type(None)))}
    out["msg"], out["args"] = record.getMessage(), None
    if record.exc_info and record.exc_info[1] is not None:
        out["exc_text"] = format_traceback(record.exc_info[1])
    out.pop("exc_info", None)
    return out


def task_event(level: int, msg: str, *args: Any, flow: str | None = None,
               task: str | None = None, map_index: int | None = None,
               exc: BaseException | None = None) -> None:
    """Keep one of the engine's lines about the task run in progress (start, finish, retry,
    its exception with ``exc``'s traceback) with the task's own records.

    Nothing is formatted when the run's level drops the line, so a DEBUG line costs a
    mapped child almost nothing; outside a task run's capture it is dropped.
    """
    sink = _sink.get()
    if sink is None or level < sink[1]:
        return
    record = logging.LogRecord(RUNNER, level, "(task)", 0, msg, args, None)
    record.flow_name, record.task_name, record.map_index = flow, task, map_index
    out = _plain_record(record)
    if exc is not None:
        out["exc_text"], out["exc_type"] = format_traceback(exc), type(exc).__name__
    sink[0].append(out)


_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # prefect_dask/
_KEPT = "_prefect_dask_traceback"


def format_traceback(exc: BaseException, first: str | None = None) -> str:
    """``exc``'s traceback as Python prints it, as the user needs it: prefect_dask's own
    frames before the user's code are left out, and code that was shipped by value to
    another process (cloudpickle names its file ``<dynamic-code>``) shows its real file
    and line, read from the globals it was shipped with.  Chained exceptions included.
    With ``first`` (a file's path), frames before the first one in that file are left out.

    >>> def parse(x):
    ...     raise ValueError(f"bad record {x}")
    >>> try:
    ...     parse(3)
    ... except ValueError as e:
    ...     print(format_traceback(e).splitlines()[-1])
    ValueError: bad record 3
    """
    kept = getattr(exc, _KEPT, None)   # formatted where it was raised (a timeout's child)
    if isinstance(kept, str):
        return kept
    out: list[str] = []
    _format_chain(exc, out, set(), first)
    return "".join(out).rstrip("\n")


def keep_traceback(exc: BaseException) -> BaseException:
    """Store ``exc``'s formatted traceback on it, for a process that sends it elsewhere
    (a traceback does not pickle)."""
    try:
        setattr(exc, _KEPT, format_traceback(exc))
    except AttributeError:   # an exception type with __slots__: it goes without
        pass
    return exc


def _format_chain(exc: BaseException, out: list[str], seen: set[int],
                  first: str | None = None) -> None:
    seen.add(id(exc))
    cause, context = exc.__cause__, None if exc.__suppress_context__ else exc.__context__
    if cause is not None and id(cause) not in seen:
        _format_chain(cause, out, seen, first)
        out.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and id(context) not in seen:
        _format_chain(context, out, seen, first)
        out.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    frames = []
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = frame.f_code.co_filename
        if path == "<dynamic-code>":
            path = frame.f_globals.get("__file__") or path
        frames.append((path, line, frame.f_code.co_name))
    if first is not None:   # none in that file (a SyntaxError): the error says where
        user = next((i for i, f in enumerate(frames) if f[0] == first), len(frames))
    else:                   # all of them ours (our own bug): show them all
        user = next((i for i, f in enumerate(frames) if not f[0].startswith(_OWN)), 0)
    if frames[user:]:
        out.append("Traceback (most recent call last):\n")
    for path, line, name in frames[user:]:
        out.append(f'  File "{path}", line {line}, in {name}\n')
        source = linecache.getline(path, line).strip()
        if source:
            out.append(f"    {source}\n")
    out.extend(traceback.format_exception_only(type(exc), exc))


class Relay:
    """Re-emits on the driver what each finished node's task runs logged (see ``emit``).

    Of a task's exception tracebacks only the first ``TRACEBACKS`` of each exception type
    are kept (emitted and recorded); the later ones are dropped and counted, and ``close`` says how many, so
    a mapped task with 10^5 failing children neither floods the terminal nor the record
    (each child's State still says what it raised).
    """

    def __init__(self, limit: int = TRACEBACKS) -> None:
        self.limit = limit
        self.shown: Counter[tuple] = Counter()   # (task, exception type) -> shown
        self.hidden: Counter[str] = Counter()

    def __call__(self, value: Any) -> None:
        logs = getattr(value, "logs", None)
        if isinstance(logs, dict):     # mapped children by column: {index: records}
            for i in sorted(logs):
                logs[i] = self._trim(logs[i])
                emit(logs[i])
        elif logs:
            emit(logs)
        elif isinstance(value, tuple):
            for state in value:
                emit(getattr(state, "logs", ()))

    def _trim(self, records: Any) -> Any:
        if not any(r.get("exc_text") and r.get("name") == RUNNER for r in records):
            return records
        out = []
        for r in records:
            if r.get("exc_text") and r.get("name") == RUNNER:
                task = str(r.get("task_name"))
                if self.shown[task, r.get("exc_type")] >= self.limit:
                    self.hidden[task] += 1
                    continue
                self.shown[task, r.get("exc_type")] += 1
            out.append(r)
        return tuple(out)

    def close(self, run_id: str) -> None:
        """Say how many tracebacks were left out, and where the failures are."""
        for task, n in self.hidden.items():
            logging.getLogger(RUNNER).warning(
                "Task '%s': %d more task run%s raised an exception; %s left out "
                "(`prefect-dask runs show %s` groups the failures by exception).",
                task, n, "" if n == 1 else "s", "its traceback is" if n == 1
                else "their tracebacks are", run_id[:8])


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


def configure_logging(level: str | int | None = None, stream: Any = None) -> int:
    """Log ``prefect_dask`` to stderr (or ``stream``) unless the program configured
    logging; returns the level.

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
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(os.environ.get("PREFECT_DASK_LOGGING_FORMAT")
                                               or os.environ.get("PREFECT__LOGGING__FORMAT")
                                               or DEFAULT_FORMAT))
        logger.addHandler(handler)
    return logger.getEffectiveLevel()


def get_logger(name: str | None = None) -> logging.LoggerAdapter:
    """``prefect_dask.<name>`` (the logger task ``name`` logs to), or in task code the
    running task's logger (see module docstring).

    Used in a task run, whatever ``name`` is and wherever it was got (a module-level
    ``logger = get_logger("etl")`` too), it keeps its records for the driver, so they are
    emitted where the flow runs, not in a worker.  It is a ``LoggerAdapter`` that passes
    everything else (``addHandler``, ``setLevel``, ``handlers``...) to the ``Logger``
    (``.logger``)."""
    flow, task = context.get("flow_name"), context.get("task_name")
    if task is not None:
        return task_logger(flow, task, name)
    return named_logger(name)


@functools.lru_cache(maxsize=4096)
def task_logger(flow: str | None, task: str, name: str | None = None) -> logging.LoggerAdapter:
    """The logger of task ``task`` (of flow ``flow``): ``prefect_dask.<task>`` (or
    ``prefect_dask.<name>``); records carry the flow and task names and the current map
    index, and are kept for the driver while a task runs."""
    return _TaskLogger(logging.getLogger(f"{ROOT}.{name or task}"),
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
