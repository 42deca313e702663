"""The UI's HTML: plain pages rendered on the server from ``data``'s dicts.

Every value that comes from a record (flow and task names, messages, logs,
parameters, worker names) goes through ``_e`` (HTML-escaped); pages carry no
inline script or style, so the server's Content-Security-Policy forbids any
that escaping missed.  The run page's ``#live`` part is also served alone
(``live_part``): ``live.js`` fetches it once a second while the run goes; the
runs list's table likewise (``runs_part``).
"""

from __future__ import annotations

import datetime
import html
import json
from typing import Any
from urllib.parse import quote, urlencode

from ...store.history import FAILED_STATES
from ..visualize import STATE_COLOURS

__all__ = ["runs_page", "runs_part", "run_page", "live_part", "children_page", "error_page",
           "state_css"]

STATES = ("Running", "Success", "Failed", "Crashed", "Cancelled", "TriggerFailed", "TimedOut",
          "Skipped", "Cached", "Mapped", "Looped", "Paused", "Pending")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cls(state: Any) -> str:
    """The CSS class of a state's colour (only names we know become class names)."""
    return f"s-{state}" if state in STATE_COLOURS else "s-other"


def state_css() -> str:
    """CSS rules giving each state its colour (the same colours as reports and graphs)."""
    return "\n".join(f".s-{name} {{ background: {colour}; }}"
                     for name, colour in STATE_COLOURS.items())


def _when(ts: Any, precise: bool = False) -> str:
    if not isinstance(ts, (int, float)):
        return "-"
    when = datetime.datetime.fromtimestamp(ts)
    return when.strftime("%H:%M:%S.%f")[:-3] if precise else when.strftime("%Y-%m-%d %H:%M:%S")


def _took(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _badge(state: Any) -> str:
    return f'<span class="badge {_cls(state)}">{_e(state or "?")}</span>'


def _chips(counts: dict) -> str:
    return " ".join(f'<span class="chip {_cls(s)}">{n:,} {_e(s)}</span>'
                    for s, n in counts.items())


def _page(title: str, body: str, live: bool = False) -> str:
    script = '<script src="/static/live.js" defer></script>' if live else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(title)}</title><link rel="stylesheet" href="/static/ui.css">{script}'
            f'</head><body><header><a href="/">prefect_dask runs</a></header>'
            f'<main>{body}</main></body></html>\n')


def error_page(status: int, message: str) -> str:
    return _page(f"{status}", f'<h1>{status}</h1><p class="error">{_e(message)}</p>')


def runs_part(data: dict, flow: str | None, state: str | None) -> str:
    """The runs table and its page links (the part of the runs list that is refreshed)."""
    rows = "".join(
        f'<tr><td><a class="run" href="/runs/{quote(r["run_id"])}">{_e(r["short"])}</a></td>'
        f'<td>{_e(r["flow"])}</td><td>{_badge(r["state"])}</td><td>{_when(r["started"])}</td>'
        f'<td>{_took(r["duration"])}</td><td>{_chips(r["counts"])}</td>'
        f'<td class="muted">{_e(r["executor"])}</td></tr>' for r in data["runs"])
    if not rows:
        rows = '<tr><td colspan="7" class="muted">No runs recorded yet' \
               f'{" match" if flow or state else ""}.</td></tr>'
    keep = {k: v for k, v in (("flow", flow), ("state", state)) if v}
    nav = []
    if data["page"] > 1:
        nav.append(f'<a href="/?{_e(urlencode({**keep, "page": data["page"] - 1}))}">'
                   '&larr; newer</a>')
    nav.append(f'page {data["page"]} of {data["pages"]} ({data["total"]:,} runs)')
    if data["page"] < data["pages"]:
        nav.append(f'<a href="/?{_e(urlencode({**keep, "page": data["page"] + 1}))}">'
                   'older &rarr;</a>')
    live = int(any(r["live"] for r in data["runs"]))
    return (f'<table class="runs" data-live="{live}"><thead><tr><th>Run</th><th>Flow</th>'
            f'<th>State</th><th>Started</th><th>Duration</th><th>Task runs</th>'
            f'<th>Executor</th></tr></thead><tbody>{rows}</tbody></table>'
            f'<p class="pages">{" &middot; ".join(nav)}</p>')


def runs_page(data: dict, flow: str | None, state: str | None) -> str:
    """The runs list: filters, then the runs table, refreshed every second while a run on it
    goes and every 10 s otherwise (new runs appear)."""
    flows = "".join(f'<option{" selected" if f == flow else ""} value="{_e(f)}">{_e(f)}</option>'
                    for f in data["flows"])
    states = "".join(f'<option{" selected" if s == state else ""}>{_e(s)}</option>'
                     for s in STATES)
    form = (f'<form class="filters" method="get" action="/">'
            f'<label>Flow <select name="flow"><option value="">all</option>{flows}</select>'
            f'</label> <label>State <select name="state"><option value="">all</option>{states}'
            f'</select></label> <button type="submit">Filter</button></form>')
    query = {k: v for k, v in (("flow", flow), ("state", state), ("page", data["page"])) if v}
    src = "/?" + urlencode({**query, "part": "live"})
    body = (f'<h1>Runs</h1>{form}<div id="live" data-src="{_e(src)}" data-idle="10000">'
            f'{runs_part(data, flow, state)}</div>')
    return _page("prefect_dask runs", body, live=True)


def _timeline(timeline: dict) -> str:
    """An SVG: a time axis, one lane per worker, a rect per task run (or per bin of them)."""
    lanes = timeline["lanes"]
    if not lanes:
        return '<p class="muted">No task run has finished yet.</p>'
    left, width, lane_h, top = 190, 780, 18, 22
    span = max(timeline["span"], 1e-6)
    height = top + lane_h * len(lanes) + 4
    out = [f'<svg class="timeline" viewBox="0 0 {left + width + 30} {height}" '
           f'role="img" aria-label="timeline">']
    for k in range(6):   # the time axis
        x = left + width * k / 5
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height}" '
                   f'class="tick"/><text x="{x:.1f}" y="{top - 8}" class="axis">'
                   f'{_e(_took(span * k / 5))}</text>')
    for j, lane in enumerate(lanes):
        y = top + j * lane_h
        out.append(f'<text x="{left - 6}" y="{y + 13}" class="lane">'
                   f'{_e(str(lane["worker"])[-30:])}<title>{_e(lane["worker"])}</title></text>')
        for seg in lane["segments"]:
            x = left + width * seg["start"] / span
            w = max(width * (seg["end"] - seg["start"]) / span, 0.8)
            what = (f'{seg["label"]}: {seg["state"]}' if seg["n"] == 1 else
                    f'{seg["n"]:,} task runs ({seg["label"]}): ' + ", ".join(
                        f"{n:,} {s}" for s, n in seg["states"].items()))
            out.append(f'<g class="seg"><title>{_e(what)}, {_e(_took(seg["start"]))} to '
                       f'{_e(_took(seg["end"]))}</title>')
            top_y = y + 2
            for state, h in _bands(seg["states"], lane_h - 4):
                out.append(f'<rect x="{x:.2f}" y="{top_y:.2f}" width="{w:.2f}" '
                           f'height="{h:.2f}" fill="{STATE_COLOURS.get(state, "#999")}"/>')
                top_y += h
            out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _bands(states: dict, height: float) -> list[tuple[str, float]]:
    """How a timeline segment's height is shared by its states: failed ones on top, each at
    least a sliver, the rest by their counts.

    >>> _bands({"Success": 999, "Failed": 1}, 14)
    [('Failed', 3.0), ('Success', 11.0)]
    """
    total = sum(states.values()) or 1
    order = sorted(states, key=lambda s: (s not in FAILED_STATES, -states[s]))
    out, left = [], height
    for i, state in enumerate(order):
        h = left if i == len(order) - 1 else min(left, max(3.0, height * states[state] / total))
        if h > 0:
            out.append((state, h))
        left -= h
    return out


def _count(run_id: str, task: dict, state: str) -> str:
    """A cell of the task x state table; a mapped task's counts link to its children."""
    n = task["counts"].get(state)
    if not n:
        return "<td></td>"
    if not task["mapped"]:
        return f'<td class="num">{n:,}</td>'
    href = f'/runs/{quote(run_id)}/children?{urlencode({"task": task["slug"], "state": state})}'
    return f'<td class="num"><a href="{_e(href)}">{n:,}</a></td>'


def _tasks(view: dict) -> str:
    states = [s for s in STATES if any(s in t["counts"] for t in view["tasks"])]
    states += sorted({s for t in view["tasks"] for s in t["counts"]} - set(states) - {None})
    head = "".join(f'<th><span class="chip {_cls(s)}">{_e(s)}</span></th>' for s in states)
    rows = "".join(
        f'<tr><td class="task">{_e(t["name"])}{" (mapped)" if t["mapped"] else ""}</td>'
        + "".join(_count(view["run_id"], t, s) for s in states)
        + f'<td class="num">{t["total"]:,}</td>'
          f'<td class="num">{"-" if t["mapped"] else t["attempts"]}</td>'
          f'<td class="num">{_took(t["duration"])}</td></tr>' for t in view["tasks"])
    return (f'<table class="tasks"><thead><tr><th>Task</th>{head}<th>Total</th>'
            f'<th>Attempts</th><th>Duration</th></tr></thead><tbody>{rows}</tbody></table>')


def _failures(view: dict) -> str:
    if not view["failures"]:
        return '<p class="muted">None.</p>'
    out = []
    for g in view["failures"]:
        trace = (f'<pre class="traceback">{_e(g["traceback"])}</pre>' if g["traceback"]
                 else '<p class="muted">No traceback was recorded for this failure.</p>')
        out.append(f'<div class="failure"><h3><span class="task">{_e(g["task"])}</span> '
                   f'{_badge(g["state"])} <span class="exc">{_e(g["exception"])}</span> '
                   f'<span class="muted">&times; {g["count"]:,} '
                   f'({_e(", ".join(g["examples"]))}{", ..." if g["count"] > 5 else ""})'
                   f'</span></h3><p class="message">{_e(g["message"])}</p>{trace}</div>')
    more = view["failure_groups"] - len(view["failures"])
    if more > 0:
        out.append(f'<p class="muted">and {more:,} more groups (see /api/runs/'
                   f'{_e(view["run_id"])}).</p>')
    return "".join(out)


def live_part(view: dict) -> str:
    """The part of a run's page that changes while it runs."""
    done, expected = view["done"], view["expected"]
    progress = ""
    if view["live"] and expected:
        progress = (f'<p><progress max="{expected}" value="{min(done, expected)}"></progress> '
                    f'{done:,} of {expected:,} task runs announced so far</p>')
    link = str(view.get("dashboard") or "")
    dash = (f'<p>Dask dashboard: <a href="{_e(link)}" rel="noreferrer">{_e(link)}</a></p>'
            if link.startswith(("http://", "https://")) else "")   # never javascript: etc.
    title = f'{view["flow"]} {view["short"]} {view["state"]}'
    return (f'<div id="state" data-live="{int(view["live"])}" data-title="{_e(title)}">'
            f'{_badge(view["state"])} '
            f'<span class="message">{_e(view["message"] or "")}</span></div>'
            f'<p>Started {_when(view["started"])} &middot; duration {_took(view["duration"])} '
            f'&middot; {sum(view["counts"].values()):,} task runs: {_chips(view["counts"])}'
            f'</p>{progress}{dash}'
            f'<h2>Tasks</h2>{_tasks(view)}'
            f'<h2>Failures</h2>{_failures(view)}'
            f'<h2>Timeline</h2>{_timeline(view["timeline"])}')


def _logs(view: dict, logs: dict, task: str | None, query: str | None) -> str:
    options = "".join(f'<option value="{_e(t["slug"])}"{" selected" if t["slug"] == task else ""}'
                      f'>{_e(t["name"])}</option>' for t in view["tasks"] if t["logs"])
    form = (f'<form class="filters" method="get" action="#logs">'
            f'<label>Task <select name="task"><option value="">all</option>{options}</select>'
            f'</label> <label>Search <input name="q" value="{_e(query or "")}"></label> '
            f'<button type="submit">Search</button></form>')
    lines = "".join(f'<tr><td class="muted">{_when(r["created"], precise=True)}</td>'
                    f'<td>{_e(r["level"])}</td><td class="task">{_e(r["task"])}</td>'
                    f'<td><pre>{_e(r["message"])}</pre></td></tr>' for r in logs["lines"])
    note = (f'<p class="muted">The first {len(logs["lines"]):,} lines; narrow the search to see '
            'others.</p>' if logs["more"] else "")
    if not lines:
        lines = '<tr><td colspan="4" class="muted">No log lines.</td></tr>'
    return f'{form}<table class="logs"><tbody>{lines}</tbody></table>{note}'


def run_page(view: dict, logs: dict, task: str | None, query: str | None) -> str:
    """A run's page: the live part, then parameters, logs and the resume command."""
    params = "".join(f'<tr><td>{_e(k)}</td><td><code>{_e(json.dumps(v, default=repr))}</code>'
                     f'</td></tr>' for k, v in view["parameters"].items()) \
        or '<tr><td class="muted">none</td></tr>'
    run_id = view["run_id"]
    body = (f'<h1>Flow <span class="flow">{_e(view["flow"])}</span> &middot; run '
            f'<span class="run">{_e(view["short"])}</span></h1>'
            f'<p class="muted">Run id {_e(run_id)} &middot; executor {_e(view["executor"])}</p>'
            f'<div id="live" data-src="/runs/{quote(run_id)}/live">{live_part(view)}</div>'
            f'<h2>Parameters</h2><table class="params"><tbody>{params}</tbody></table>'
            f'<h2 id="logs">Logs</h2>{_logs(view, logs, task, query)}'
            f'<h2>Resume</h2><p>Re-run what did not succeed, reusing what was checkpointed:</p>'
            f'<pre>{_e(view["resume"])}</pre><p>or, in Python, '
            f'<code>flow.run(resume={_e(repr(run_id))})</code>.</p>')
    return _page(f'{view["flow"]} {view["short"]} {view["state"]}', body,
                 live=view["live"])


def children_page(data: dict) -> str:
    """The map indexes of one mapped task's children in one state."""
    what = f'{data["state"]} children' if data["state"] else "children"
    items = " ".join(f'<span class="chip {_cls(c["state"])}">{_e(data["task"])}[{c["map_index"]}]'
                     f'</span>' for c in data["children"]) or '<span class="muted">None.</span>'
    keep = {"task": data["slug"], **({"state": data["state"]} if data["state"] else {})}
    nav = []
    if data["page"] > 1:
        nav.append(f'<a href="?{_e(urlencode({**keep, "page": data["page"] - 1}))}">'
                   '&larr; lower indexes</a>')
    nav.append(f'page {data["page"]}')
    if data["more"]:
        nav.append(f'<a href="?{_e(urlencode({**keep, "page": data["page"] + 1}))}">'
                   'higher indexes &rarr;</a>')
    body = (f'<h1>Flow <span class="flow">{_e(data["flow"])}</span> &middot; run '
            f'<a class="run" href="/runs/{quote(data["run_id"])}">{_e(data["short"])}</a></h1>'
            f'<h2>{_e(what)} of <span class="task">{_e(data["task"])}</span></h2>'
            f'<p class="children">{items}</p><p class="pages">{" &middot; ".join(nav)}</p>')
    return _page(f'{data["task"]} {what}', body)
