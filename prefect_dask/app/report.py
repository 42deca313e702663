"""A run's page: one self-contained HTML report read from the run history
(``prefect-dask report``).  The progress bar and summary a run prints live in
``engine/console.py``."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from ..engine.console import _QUIET

__all__ = ["html_report"]


LOG_LINES = 200     # log lines shown per task in a report (all are in `runs logs`)


def _nice_step(span: float, ticks: int = 8) -> float:
    """A round tick interval (1, 2 or 5 x 10^k seconds) giving at most ``ticks`` ticks.

    >>> _nice_step(10.0), _nice_step(0.3), _nice_step(3600)
    (2.0, 0.05, 500.0)
    """
    raw = max(span, 1e-6) / ticks
    k = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * 10 ** k >= raw:
            return float(round(m * 10 ** k, 12))
    return 10.0 ** (k + 1)


def _clock(seconds: float) -> str:
    """``1.5 s``, ``2m05s``, ``1h02m`` (a tick label or a duration)."""
    if seconds < 60:
        return f"{seconds:g} s" if seconds == round(seconds, 3) else f"{seconds:.3f} s"
    m, sec = divmod(int(round(seconds)), 60)
    return f"{m}m{sec:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def html_report(history: Any, run_id: str) -> str:
    """One self-contained HTML page of a run (finished, running, cancelled or crashed),
    read from the run history (``history.History``): the run, a task x state table
    (mapped children counted), the failures grouped by task and exception with one
    traceback each, a timeline with a time axis (one lane per worker; a task's
    consecutive runs on a worker merged, so a 10^6-child run stays a small page) and
    each task's log lines.  No scripts, no network: it opens offline."""
    from html import escape

    from .visualize import STATE_COLOURS

    def e(value: Any) -> str:
        return escape(str(value if value is not None else ""))

    run = history.run(run_id)
    rid = run["run_id"]
    tasks = history.tasks(rid, helpers=False)
    failures = history.failures(rid)
    timeline = history.timeline(rid)

    states = sorted({s for t in tasks for s in t["counts"]})
    head = "".join(f'<th><span class="key" style="background:'
                   f'{STATE_COLOURS.get(s, "#999")}">{e(s)}</span></th>' for s in states)
    rows = []
    for t in tasks:
        took = t["finished"] - t["started"] if t["finished"] and t["started"] else None
        cells = "".join(f"<td class=\"n\">{t['counts'].get(s, '')}</td>" for s in states)
        rows.append(f"<tr><td>{e(t['name'])}</td><td>{e(t['state'])}</td>"
                    f"<td class=\"n\">{t['width'] or ''}</td>{cells}"
                    f"<td class=\"n\">{t['attempts'] or ''}</td>"
                    f"<td class=\"n\">{'' if took is None else f'{took:.3f} s'}</td></tr>")
    table = (f"<table><tr><th>task</th><th>state</th><th>children</th>{head}<th>attempts</th>"
             f"<th>duration</th></tr>{''.join(rows)}</table>")

    fail_rows = []
    for g in failures:
        shown = ", ".join(map(str, g["map_indexes"]))
        where = f"{g['name']}[{shown}{', ...' if g['n'] > len(g['map_indexes']) else ''}]" \
            if g["map_indexes"] else g["name"]
        trace = f"<pre>{e(g['traceback'])}</pre>" if g["traceback"] else ""
        fail_rows.append(f"<tr><td>{e(where)}</td><td>{e(g['state'])}</td>"
                         f"<td>{e(g['exception'] or '')}</td><td class=\"n\">{g['n']}</td>"
                         f"<td>{e(g['message'])}{trace}</td></tr>")
    n_failed = sum(g["n"] for g in failures)

    t0 = timeline["start"] if timeline["start"] is not None else run["started"] or 0.0
    t1 = timeline["end"] if timeline["end"] is not None else t0
    span = max(t1 - t0, 1e-6)
    step = _nice_step(span)
    ticks = "".join(f'<div class="tick" style="left:{100 * x / span:.3f}%">{_clock(x)}</div>'
                    for x in (i * step for i in range(int(span / step) + 1)))
    lanes = []
    for lane in timeline["lanes"]:
        bars = []
        for sp in lane["spans"]:
            counts = sp["counts"]
            left = 100 * (sp["started"] - t0) / span
            width = max(100 * (sp["finished"] - sp["started"]) / span, 0.2)
            what = sp["name"] if sp["n"] == 1 else f"{sp['name']} ({sp['n']} task runs)"
            tip = f"{what}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + \
                f"; {sp['finished'] - sp['started']:.4f} s from {_clock(round(left * span / 100, 3))}"
            bars.append(f'<div class="bar" style="left:{left:.3f}%;width:{width:.3f}%;'
                        f'background:{_stripes(counts, STATE_COLOURS)}" title="{e(tip)}">'
                        f"</div>")
        lanes.append(f'<div class="lane"><div class="who">{e(lane["worker"])}</div>'
                     f'<div class="track">{"".join(bars)}</div></div>')

    logs = []
    for t in tasks:
        if not t["logs"]:
            continue
        lines = history.logs(rid, task=t["slug"], limit=LOG_LINES)
        more = t["logs"] + t["logs_dropped"] - len(lines)
        text = "\n".join(
            f"{_time(r['created'])} {logging.getLevelName(r['level'] or 0):7} "
            f"{r['message']}" + (f"\n{r['exc_text']}" if r.get("exc_text") else "")
            for r in lines)
        note = (f'<p class="more">{more} more: <code>prefect-dask runs logs {e(rid[:8])} '
                f"--task {e(t['name'])}</code></p>") if more > 0 else ""
        logs.append(f"<details><summary>{e(t['name'])} ({t['logs'] + t['logs_dropped']} "
                    f"lines)</summary><pre>{e(text)}</pre>{note}</details>")

    title = f"Run {rid} of flow {run['flow']!r}"
    took = run["duration"]
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
.lane {{ display: flex; align-items: center; margin: 2px 0; }}
.who {{ width: 22em; font-size: 12px; overflow: hidden; white-space: nowrap; }}
.track, .axis {{ position: relative; flex: 1; height: 18px; background: #f1f3f5; }}
.axis {{ background: none; border-top: 1px solid #888; }}
.tick {{ position: absolute; top: 0; font-size: 11px; border-left: 1px solid #888;
        padding-left: 2px; white-space: nowrap; }}
.bar {{ position: absolute; top: 1px; height: 16px; border-radius: 2px; }}
.key {{ display: inline-block; padding: 2px 8px; color: #fff; border-radius: 3px; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ border: 1px solid #ddd; padding: 4px 8px; font-size: 13px; text-align: left;
          vertical-align: top; }}
td.n {{ text-align: right; }}
pre {{ font-size: 12px; background: #f8f9fa; padding: 6px; overflow-x: auto; }}
</style></head><body>
<h1>{e(title)}</h1>
<p>State: <b>{e(run['state'])}</b>{e(' ' + run['message'].rstrip('.')) if run['message'] else ''}.
Executor: {e(run['executor'])}. Started {e(_time(run['started']))};
{'took' if run['ended'] else 'not finished after'} {e(_clock(took) if took else '-')};
{run['task_runs']} task runs, {run['failed']} did not succeed.</p>
<p>Parameters: <code>{e(run['parameters'])}</code></p>
<h2>Tasks</h2>
{table}
<h2>Failures ({n_failed})</h2>
<table><tr><th>task run(s)</th><th>state</th><th>exception</th><th>count</th><th>message and
traceback (of the first)</th></tr>{''.join(fail_rows)}</table>
<h2>Timeline</h2>
<div class="lane"><div class="who">time since the first task run started</div>
<div class="axis">{ticks}</div></div>
{"".join(lanes)}
<h2>Logs</h2>
{"".join(logs) or "<p>No log lines.</p>"}
</body></html>
"""


def _stripes(counts: Mapping[str, int], colours: Mapping[str, str]) -> str:
    """A bar's background: its task runs' states stacked top to bottom by share (failures
    at the bottom), so a merged span shows its mix.

    >>> _stripes({"Success": 3, "Failed": 1}, {"Success": "green", "Failed": "red"})
    'linear-gradient(to bottom, green 0.0% 75.0%, red 75.0% 100.0%)'
    """
    total = sum(counts.values()) or 1
    order = sorted(counts, key=lambda s: (s not in _QUIET, s))
    if len(order) == 1:
        return colours.get(order[0], "#999")
    parts, at = [], 0.0
    for s in order:
        end = at + 100 * counts[s] / total
        parts.append(f"{colours.get(s, '#999')} {at:.1f}% {end:.1f}%")
        at = end
    return "linear-gradient(to bottom, " + ", ".join(parts) + ")"


def _time(ts: float | None) -> str:
    import datetime

    return "-" if ts is None else datetime.datetime.fromtimestamp(ts).strftime(
        "%Y-%m-%d %H:%M:%S")
