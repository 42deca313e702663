"""What a user sees of a run while it goes and when it ends: a progress bar and a summary.

The bar (stderr, only on a terminal unless ``progress=True``) counts finished
task runs, mapped children included, by state.  The summary, logged at INFO on
the ``prefect_dask`` logger when the run ends, gives the counts by state, the
slowest tasks and the failures with their messages.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, TextIO

from .states import Mapped, MapStates, State

__all__ = ["Progress", "summary"]

logger = logging.getLogger("prefect_dask")
BAR = 30


class Progress:
    """A live count of finished task runs, drawn as a bar at most 10 times a second."""

    def __init__(self, flow_name: str, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(enabled) if enabled is not None else _is_tty(self.stream)
        self.flow_name = flow_name
        self.total = 0
        self.counts: Counter[str] = Counter()
        self._drawn = 0.0

    def expect(self, n: int) -> None:
        """``n`` more task runs will finish (a stage was compiled)."""
        self.total += n
        self.draw()

    def node(self, key: Any, value: Any) -> None:
        """A graph node finished: a task's State or a batch of mapped children."""
        if isinstance(value, MapStates):
            self.counts.update(value.type_names())
        elif isinstance(value, tuple):
            self.counts.update(type(s).__name__ for s in value)
        elif isinstance(value, State):
            self.counts[type(value).__name__] += 1
        self.draw()

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        done = sum(self.counts.values())
        filled = int(BAR * done / self.total) if self.total else 0
        states = " ".join(f"{n} {s}" for s, n in sorted(self.counts.items()) if n)
        self.stream.write(f"\r{self.flow_name}: [{'#' * filled}{'.' * (BAR - filled)}] "
                          f"{done}/{self.total} task runs  {states}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def summary(flow_name: str, final: State, states: Mapping[Any, State], seconds: float) -> str:
    """A few lines: the outcome, counts by state, the slowest tasks, the failures."""
    counts: Counter[str] = Counter()
    timed: list[tuple[float, str]] = []
    failures: list[str] = []
    for task, state in states.items():
        children = state.map_states if isinstance(state, Mapped) else ()
        for s in (state, *children):
            counts[type(s).__name__] += 1
            name = s.task_name or task.name
            full = name if s.map_index is None else f"{name}[{s.map_index}]"
            if s.started is not None and s.finished is not None:
                timed.append((s.finished - s.started, full))
            if s.is_failed() and len(failures) < 5:
                failures.append(f"  {full}: {type(s).__name__}: {s.message}")
    lines = [f"Flow run {flow_name!r} ended {type(final).__name__} in {seconds:.2f} s: "
             f"{sum(counts.values())} task runs ("
             + ", ".join(f"{n} {s}" for s, n in counts.most_common()) + ")"]
    if timed:
        slow = sorted(timed, reverse=True)[:3]
        lines.append("Slowest: " + ", ".join(f"{name} {t:.3f} s" for t, name in slow))
    if failures:
        lines.append("Failures:")
        lines.extend(failures)
    return "\n".join(lines)
