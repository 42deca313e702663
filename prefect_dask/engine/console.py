"""What a run shows while it goes and when it ends: a progress bar and a summary.

The bar (stderr, only on a terminal unless ``progress=True``; drawn by tqdm) counts
finished task runs, mapped children included, by state.  The summary, logged at INFO on
the ``prefect_dask`` logger when the run ends, gives the counts by state, the
slowest tasks and the failures with their messages.
"""

from __future__ import annotations

import heapq
import logging
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any, TextIO

from ..states import Failed, Mapped, MapStates, State, _KINDS
from ..task import is_helper

_FAILED = {k.__name__ for k in _KINDS if issubclass(k, Failed)}

__all__ = ["Progress", "summary"]

logger = logging.getLogger("prefect_dask")


class Progress:
    """A live count of finished task runs (mapped children included), drawn by tqdm.

    tqdm keeps the bar on one line that fits the terminal's width (also when it is
    resized) and shows the elapsed time, the rate and the time left; the counts of task
    runs that did not succeed, by state, follow.  While the bar is shown, the console handlers of the ``prefect_dask`` and root
    loggers write through ``tqdm.write`` (tqdm's ``logging_redirect_tqdm``), so a log line
    is printed above the bar instead of glued onto it.
    """

    def __init__(self, flow_name: str, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(enabled) if enabled is not None else _is_tty(self.stream)
        self.flow_name = flow_name
        self.total = 0
        self.counts: Counter[str] = Counter()
        self._bar: Any = None
        self._redirect: Any = None
        if self.enabled:
            self._start()

    def _start(self) -> None:
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        self._bar = tqdm(total=0, desc=self.flow_name, unit=" runs", file=self.stream,
                         dynamic_ncols=True, mininterval=0.1, leave=True, smoothing=0.1,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                    "[{elapsed}<{remaining}, {rate_fmt}]{postfix}")
        console = [lg for lg in (logging.getLogger(), logging.getLogger("prefect_dask"))
                   if any(_is_console(h) for h in lg.handlers)]
        self._redirect = logging_redirect_tqdm(loggers=console, tqdm_class=tqdm)
        self._redirect.__enter__()

    def expect(self, n: int) -> None:
        """``n`` more task runs will finish (a stage was compiled)."""
        self.total += n
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def node(self, key: Any, value: Any) -> None:
        """A graph node finished: a task's State or a batch of mapped children."""
        if self._bar is None:
            return
        before = sum(self.counts.values())
        if isinstance(value, MapStates):
            self.counts.update(value.type_names())
        elif isinstance(value, tuple):
            self.counts.update(type(s).__name__ for s in value)
        elif isinstance(value, State):
            self.counts[type(value).__name__] += 1
        # the runs that did not succeed, by state (the rest succeeded): short enough for
        # 80 columns
        self._bar.set_postfix_str(" ".join(f"{n} {s}" for s, n in sorted(self.counts.items())
                                           if n and s not in _QUIET), refresh=False)
        self._bar.update(sum(self.counts.values()) - before)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Draw the bar a last time and give the console back to the loggers."""
        if self._bar is None:
            return
        bar, self._bar = self._bar, None
        bar.refresh()
        bar.close()
        self._redirect.__exit__(None, None, None)


_QUIET = frozenset({"Success", "Mapped", "Cached"})


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and \
        getattr(handler, "stream", None) in (sys.stdout, sys.stderr)


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


SHOWN_FAILURES = 5
SLOW = 0.001   # task runs faster than this are not "slow"


def summary(flow_name: str, final: State, states: Mapping[Any, State], seconds: float,
            run_id: str | None = None) -> str:
    """A few lines: the outcome, counts by state, the slowest task runs (of at least a
    millisecond; Parameters and Constants left out), the first failures and how many more.

    Mapped children are read by column, so a million children cost no State objects.
    """
    counts: Counter[str] = Counter()
    timed: list[tuple[float, str]] = []
    failures: list[str] = []
    n_failed = 0
    for task, state in states.items():
        counts[type(state).__name__] += 1
        helper = is_helper(task)
        if state.started is not None and state.finished is not None and not helper:
            timed.append((state.finished - state.started, task.name))
        if state.is_failed():
            n_failed += 1
            if len(failures) < SHOWN_FAILURES:
                failures.append(f"  {task.name}: {type(state).__name__}: {state.message}")
        children = state.map_states if isinstance(state, Mapped) else ()
        if not isinstance(children, MapStates):
            children = MapStates.from_states(task.name, children)
        names = children.type_names()
        counts.update(names)
        took = (f - s for f, s in zip(children.finished, children.started))
        timed.extend((t, f"{task.name}[{i}]") for t, i in
                     heapq.nlargest(3, ((t, i) for i, t in enumerate(took) if t == t)))
        for i in (i for i, name in enumerate(names) if name in _FAILED):
            n_failed += 1
            if len(failures) < SHOWN_FAILURES:
                failures.append(f"  {task.name}[{i}]: {names[i]}: {children[i].message}")
    lines = [f"Flow run {flow_name!r} ended {type(final).__name__} in {seconds:.2f} s: "
             f"{sum(counts.values())} task runs ("
             + ", ".join(f"{n} {s}" for s, n in counts.most_common()) + ")"]
    slow = [(t, name) for t, name in heapq.nlargest(3, timed) if t >= SLOW]
    if slow:
        lines.append("Slowest: " + ", ".join(f"{name} {_took(t)}" for t, name in slow))
    if failures:
        lines.append("Failures:")
        lines.extend(failures)
        if n_failed > len(failures):
            lines.append(f"  ... and {n_failed - len(failures)} more (prefect-dask runs show "
                         f"{run_id[:8] if run_id else 'RUN'} groups them by task and "
                         "exception)")
    return "\n".join(lines)


def _took(seconds: float) -> str:
    """``12 ms``, ``1.50 s``, ``2m05s``.

    >>> _took(0.0123), _took(1.5), _took(125)
    ('12 ms', '1.50 s', '2m05s')
    """
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    m, sec = divmod(int(round(seconds)), 60)
    return f"{m}m{sec:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"
