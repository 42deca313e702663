"""What a user sees of a run while it goes and when it ends: a progress bar and a summary.

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

from .states import Failed, Mapped, MapStates, State, _KINDS

_FAILED = {k.__name__ for k in _KINDS if issubclass(k, Failed)}

__all__ = ["Progress", "summary", "html_report"]

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


def summary(flow_name: str, final: State, states: Mapping[Any, State], seconds: float) -> str:
    """A few lines: the outcome, counts by state, the slowest task runs, the failures.

    Mapped children are read by column, so a million children cost no State objects.
    """
    counts: Counter[str] = Counter()
    timed: list[tuple[float, str]] = []
    failures: list[str] = []
    for task, state in states.items():
        counts[type(state).__name__] += 1
        if state.started is not None and state.finished is not None:
            timed.append((state.finished - state.started, task.name))
        if state.is_failed() and len(failures) < 5:
            failures.append(f"  {task.name}: {type(state).__name__}: {state.message}")
        children = state.map_states if isinstance(state, Mapped) else ()
        if not isinstance(children, MapStates):
            children = MapStates.from_states(task.name, children)
        names = children.type_names()
        counts.update(names)
        took = (f - s for f, s in zip(children.finished, children.started))
        timed.extend((t, f"{task.name}[{i}]") for t, i in
                     heapq.nlargest(3, ((t, i) for i, t in enumerate(took) if t == t)))
        for i, name in enumerate(names):
            if len(failures) >= 5:
                break
            if name in _FAILED:
                failures.append(f"  {task.name}[{i}]: {name}: {children[i].message}")
    lines = [f"Flow run {flow_name!r} ended {type(final).__name__} in {seconds:.2f} s: "
             f"{sum(counts.values())} task runs ("
             + ", ".join(f"{n} {s}" for s, n in counts.most_common()) + ")"]
    if timed:
        lines.append("Slowest: " + ", ".join(f"{name} {t:.3f} s"
                                              for t, name in heapq.nlargest(3, timed)))
    if failures:
        lines.append("Failures:")
        lines.extend(failures)
    return "\n".join(lines)


def html_report(record: Mapping[str, Any]) -> str:
    """One self-contained HTML page for a run record: a timeline of every task run and mapped
    child, one lane per worker/thread, coloured by state, with durations, failures and the
    parameters.  No scripts, no network: it opens offline."""
    from html import escape

    from .visualize import STATE_COLOURS

    every: list[dict] = []   # every task run; those that ran also go on the timeline
    for slug, task in record["tasks"].items():
        items = [(None, task)] + sorted(task.get("children", {}).items())
        for i, r in items:
            name = task.get("name") or slug
            every.append({"name": name if i is None else f"{name}[{i}]", "state": r.get("state"),
                          "start": r.get("started"), "end": r.get("finished"),
                          "worker": r.get("worker") or "driver", "message": r.get("message")})
    runs = [r for r in every if r["start"] is not None and r["end"] is not None]
    t0 = min((r["start"] for r in runs), default=record.get("started") or 0.0)
    t1 = max((r["end"] for r in runs), default=t0)
    span = max(t1 - t0, 1e-6)
    lanes = sorted({r["worker"] for r in runs})
    rows = []
    for lane in lanes:
        bars = []
        for r in (r for r in runs if r["worker"] == lane):
            left = 100 * (r["start"] - t0) / span
            width = max(100 * (r["end"] - r["start"]) / span, 0.15)
            colour = STATE_COLOURS.get(r["state"], "#999")
            tip = f"{r['name']}: {r['state']}, {r['end'] - r['start']:.4f} s"
            if r["message"] and r["state"] not in ("Success", "Cached"):
                tip += f" - {r['message']}"
            bars.append(f'<div class="bar" style="left:{left:.3f}%;width:{width:.3f}%;'
                        f'background:{colour}" title="{escape(tip)}"></div>')
        rows.append(f'<div class="lane"><div class="who">{escape(lane)}</div>'
                    f'<div class="track">{"".join(bars)}</div></div>')
    failures = [r for r in every if r["state"] in ("Failed", "TriggerFailed", "TimedOut",
                                                    "Crashed", "Cancelled")]
    fail_rows = "".join(f"<tr><td>{escape(r['name'])}</td><td>{escape(str(r['state']))}</td>"
                        f"<td>{escape(str(r['message']))}</td></tr>" for r in failures[:200])
    counts = Counter(r["state"] for r in every)
    legend = "".join(f'<span class="key" style="background:{STATE_COLOURS.get(s, "#999")}">'
                     f"{escape(str(s))}: {n}</span>" for s, n in sorted(counts.items()))
    slow = sorted(runs, key=lambda r: r["end"] - r["start"], reverse=True)[:10]
    slow_rows = "".join(f"<tr><td>{escape(r['name'])}</td><td>{r['end'] - r['start']:.4f} s"
                        f"</td><td>{escape(r['worker'])}</td></tr>" for r in slow)
    title = f"Run {record.get('run_id')} of flow {record.get('flow')!r}"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
.lane {{ display: flex; align-items: center; margin: 2px 0; }}
.who {{ width: 22em; font-size: 12px; overflow: hidden; white-space: nowrap; }}
.track {{ position: relative; flex: 1; height: 18px; background: #f1f3f5; }}
.bar {{ position: absolute; top: 1px; height: 16px; border-radius: 2px; }}
.key {{ display: inline-block; padding: 2px 8px; margin: 2px; color: #fff; border-radius: 3px; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ border: 1px solid #ddd; padding: 4px 8px; font-size: 13px; text-align: left; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>Final state: <b>{escape(str(record.get('state') or 'unfinished'))}</b>
{escape(str(record.get('message') or ''))}. Executor: {escape(str(record.get('executor')))}.
Duration: {span:.3f} s; {len(every)} task runs ({len(runs)} ran).</p>
<p>Parameters: <code>{escape(repr(record.get('parameters')))}</code></p>
<div>{legend}</div>
<h2>Timeline</h2>
{"".join(rows)}
<h2>Slowest task runs</h2>
<table><tr><th>task run</th><th>duration</th><th>worker</th></tr>{slow_rows}</table>
<h2>Failures ({len(failures)})</h2>
<table><tr><th>task run</th><th>state</th><th>message</th></tr>{fail_rows}</table>
</body></html>
"""
