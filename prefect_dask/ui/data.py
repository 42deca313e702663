"""What the UI shows, as plain JSON-able dicts: the runs list and one run's view.

The pages and the JSON API read only these functions.  They read the run
records (``records``) the way a reader outside the run must: a run with no
``end`` entry is ``Running`` while its driver process lives, ``Crashed`` once
it is gone.  A run's view is built in one pass over its record, mapped
children by column, so its size does not grow with the number of children:
counts by task and state, failures grouped by task and exception (one
traceback each), and a timeline binned per worker lane.
"""

from __future__ import annotations

import os
import re
import socket
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import RunRecordError
from ..records import _entries, records_dir

__all__ = ["runs_page", "run_view", "run_logs", "find_path", "FAILED", "SHORT"]

FAILED = frozenset({"Failed", "TriggerFailed", "TimedOut", "Crashed", "Cancelled",
                    "ValidationFailed"})
SHORT = 8          # characters of a run id shown in lists
BINS = 160         # time bins of a lane when a run has too many task runs to draw each
EACH = 1500        # at most this many task runs are drawn one by one
MAX_LANES = 48     # further workers share one lane
MAX_GROUPS = 50    # failure groups shown
_EXC = re.compile(r"([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|FAIL|Timeout)\w*)")


def _alive(pid: Any, host: Any) -> bool | None:
    """Whether a run's driver lives (None: it ran on another machine, we cannot tell)."""
    if not isinstance(pid, int):
        return False
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _final(state: Any, pid: Any, host: Any) -> tuple[str, bool]:
    """(state shown, live?) of a run whose record ends with ``state`` (None: no end entry)."""
    if state is not None:
        return state, False
    alive = _alive(pid, host)
    return ("Crashed", False) if alive is False else ("Running", True)


def find_path(run_id: str) -> Path:
    """The record of ``run_id``: a full id, a unique prefix, or ``last``."""
    folder = records_dir()
    if run_id == "last":
        paths = sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime)
        if not paths:
            raise RunRecordError(f"No run is recorded in {folder} yet; run a flow first.")
        return paths[-1]
    if not re.fullmatch(r"[0-9a-fA-F-]{1,36}", run_id):
        raise RunRecordError(f"{run_id!r} is not a run id: give a run id, a unique prefix of "
                             "one (8 characters are usually enough), or 'last'.")
    exact = folder / f"{run_id}.msgpack"
    if exact.exists():
        return exact
    paths = sorted(folder.glob(f"{run_id}*.msgpack"))
    if len(paths) == 1:
        return paths[0]
    if not paths:
        raise RunRecordError(f"No run {run_id!r} is recorded in {folder}; the runs list (/) "
                             "shows the recorded ones.")
    raise RunRecordError(f"{len(paths)} runs start with {run_id!r} "
                         f"({', '.join(p.stem for p in paths[:5])}...); give more characters.")


class _Run:
    """One pass over a record: header, counts, failures, timeline items, logs index."""

    def __init__(self, path: Path, with_items: bool) -> None:
        self.head: dict[str, Any] = {"state": None, "message": None, "finished": None,
                                     "expected": 0}
        self.tasks: dict[str, dict] = {}          # slug -> {name, counts, attempts}
        self.groups: dict[tuple, dict] = {}       # (task, state, exception) -> group
        self.items: list[tuple] = []              # (start, end, state, worker, label)
        self.first = self.last = None
        self.with_items = with_items
        for entry in _entries(path):
            kind = entry.get("kind")
            if kind == "start":
                self.head.update((k, entry.get(k)) for k in (
                    "run_id", "flow", "parameters", "executor", "started", "pid", "host",
                    "dashboard"))
            elif kind == "expect":
                self.head["expected"] += entry.get("n") or 0
            elif kind == "task":
                self._task(entry)
            elif kind == "children":
                self._children(entry)
            elif kind == "end":
                self.head.update(state=entry.get("state"), message=entry.get("message"),
                                 finished=entry.get("finished"))
        if "run_id" not in self.head:
            raise RunRecordError(f"{path} is not a prefect_dask run record (no start entry).")

    def _row(self, entry: dict) -> dict:
        slug = entry.get("slug")
        row = self.tasks.get(slug)
        if row is None:
            row = self.tasks[slug] = {"slug": slug, "name": entry.get("name") or slug,
                                      "state": None, "children": Counter(), "attempts": 0,
                                      "started": None, "finished": None}
        return row

    def _span(self, start: Any, end: Any) -> None:
        if start is not None and start == start:
            self.first = start if self.first is None else min(self.first, start)
        if end is not None and end == end:
            self.last = end if self.last is None else max(self.last, end)

    def _fail(self, name: str, label: str, state: str, message: Any, logs: Any,
              traceback: Any) -> None:
        text = "" if message is None else str(message)
        found = _EXC.search(text)
        key = (name, state, found.group(1) if found else state)
        group = self.groups.get(key)
        if group is None:
            if traceback is None:   # the traceback a task logged (logger.exception)
                traceback = next((r.get("exc_text") for r in logs or () if isinstance(r, dict)
                                  and r.get("exc_text")), None)
            self.groups[key] = {"task": name, "state": state, "exception": key[2], "count": 1,
                                "first": label, "message": text, "traceback": traceback}
        else:
            group["count"] += 1

    def _task(self, entry: dict) -> None:
        row = self._row(entry)
        state = entry.get("state")
        row.update(state=state, attempts=entry.get("attempts") or 0,
                   started=entry.get("started"), finished=entry.get("finished"),
                   logs=len(entry.get("logs") or ()))
        self._span(row["started"], row["finished"])
        if state in FAILED:
            self._fail(row["name"], row["name"], state, entry.get("message"), entry.get("logs"),
                       entry.get("traceback"))
        if self.with_items and row["started"] is not None and row["finished"] is not None:
            self.items.append((row["started"], row["finished"], state,
                               entry.get("worker") or "driver", row["name"]))

    def _children(self, entry: dict) -> None:
        row = self._row(entry)
        name, offset = row["name"], entry.get("offset") or 0
        states = entry.get("states") or []
        row["children"].update(states)
        row["child_logs"] = row.get("child_logs", 0) + len(entry.get("logs") or {})
        started, finished = entry.get("started") or [], entry.get("finished") or []
        workers = entry.get("workers") or [None] * len(states)
        messages, logs = entry.get("messages") or {}, entry.get("logs") or {}
        tracebacks = entry.get("tracebacks") or {}
        if started:
            self._span(min((s for s in started if s == s), default=None),
                       max((f for f in finished if f == f), default=None))
        for i, state in enumerate(states):
            if state in FAILED:
                self._fail(name, f"{name}[{offset + i}]", state, messages.get(i), logs.get(i),
                           tracebacks.get(i))
        if self.with_items:
            self.items.extend(
                (s, f, state, w or "driver", name) for s, f, state, w in
                zip(started, finished, states, workers) if s == s and f == f)


def _counts(run: _Run) -> Counter:
    total: Counter = Counter()
    for row in run.tasks.values():
        if row["state"] is not None:
            total[row["state"]] += 1
        total.update(row["children"])
    return total


def _summary(run: _Run) -> dict:
    head = run.head
    state, live = _final(head["state"], head.get("pid"), head.get("host"))
    counts = _counts(run)
    end = head["finished"] if head["finished"] is not None else run.last
    start = head.get("started")
    return {"run_id": head["run_id"], "short": str(head["run_id"])[:SHORT], "flow": head["flow"],
            "state": state, "live": live, "message": head["message"], "started": start,
            "finished": head["finished"],
            "duration": None if start is None or end is None else max(end - start, 0.0),
            "executor": head.get("executor"), "counts": dict(counts.most_common()),
            "done": sum(counts.values()), "expected": head["expected"] or None}


def runs_page(flow: str | None = None, state: str | None = None, page: int = 1,
              per_page: int = 50) -> dict:
    """Recorded runs, newest first, filtered by flow and state: ``{runs, total, page, pages,
    flows}``."""
    folder = records_dir()
    paths = sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True) \
        if folder.exists() else []
    rows, flows = [], set()
    for path in paths:
        try:
            row = _summary(_Run(path, with_items=False))
        except (RunRecordError, OSError):
            continue
        flows.add(row["flow"])
        if (flow and row["flow"] != flow) or (state and row["state"] != state):
            continue
        rows.append(row)
    rows.sort(key=lambda r: r["started"] or 0.0, reverse=True)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(1, page), pages)
    return {"runs": rows[(page - 1) * per_page: page * per_page], "total": len(rows),
            "page": page, "pages": pages, "flows": sorted(f for f in flows if f is not None)}


def _timeline(run: _Run) -> dict:
    """Lanes per worker of segments ``{start, end, state, n, label}`` (seconds from the run's
    start).  With more than ``EACH`` task runs, each lane is cut into ``BINS`` bins and a
    segment holds every task run of its bin, coloured by the commonest state (a failed one
    wins)."""
    t0 = run.head.get("started") or run.first or 0.0
    t1 = max(run.last or t0, t0)
    span = max(t1 - t0, 1e-6)
    workers = Counter(item[3] for item in run.items)
    named = [w for w, _ in workers.most_common(MAX_LANES)]
    lane_of = {w: i for i, w in enumerate(sorted(named))}
    other = len(lane_of)
    names = sorted(named) + (["other workers"] if len(workers) > len(named) else [])
    lanes: list[list[dict]] = [[] for _ in names]
    if len(run.items) <= EACH:
        for start, end, state, worker, label in sorted(run.items):
            lanes[lane_of.get(worker, other)].append(
                {"start": start - t0, "end": end - t0, "state": state, "n": 1, "label": label})
    else:
        width = span / BINS
        bins: dict[tuple[int, int], list] = {}
        for start, end, state, worker, label in run.items:
            b = min(int((start - t0) / width), BINS - 1)
            cell = bins.get((lane_of.get(worker, other), b))
            if cell is None:
                cell = bins[(lane_of.get(worker, other), b)] = [Counter(), Counter(), start, end]
            cell[0][state] += 1
            cell[1][label] += 1
            cell[2], cell[3] = min(cell[2], start), max(cell[3], end)
        for (lane, b), (states, labels, start, end) in sorted(bins.items()):
            failed = [s for s in states if s in FAILED]
            lanes[lane].append({
                "start": start - t0, "end": end - t0, "n": sum(states.values()),
                "state": failed[0] if failed else states.most_common(1)[0][0],
                "states": dict(states.most_common()),
                "label": ", ".join(f"{n} {name}" for name, n in labels.most_common(3))})
    return {"span": t1 - t0, "lanes": [{"worker": w, "segments": s}
                                       for w, s in zip(names, lanes)]}


def run_view(run_id: str) -> dict:
    """One run: its summary plus ``parameters``, ``tasks`` (task x state counts),
    ``failures`` (grouped), ``timeline``, ``dashboard`` and ``resume`` (the command)."""
    run = _Run(find_path(run_id), with_items=True)
    view = _summary(run)
    tasks = []
    for row in run.tasks.values():
        counts = Counter(row["children"])
        if not counts and row["state"] is not None:
            counts[row["state"]] += 1
        took = (row["finished"] - row["started"]) if row["started"] is not None \
            and row["finished"] is not None else None
        tasks.append({"slug": row["slug"], "name": row["name"], "state": row["state"],
                      "mapped": bool(row["children"]), "counts": dict(counts.most_common()),
                      "total": sum(counts.values()), "attempts": row["attempts"],
                      "duration": took, "logs": row.get("logs", 0) + row.get("child_logs", 0)})
    groups = sorted(run.groups.values(), key=lambda g: -g["count"])
    view.update(parameters=run.head.get("parameters") or {}, tasks=tasks,
                failures=groups[:MAX_GROUPS], failure_groups=len(groups),
                timeline=_timeline(run), dashboard=run.head.get("dashboard"),
                resume=f"prefect-dask resume {view['run_id']} --file path/to/flow_file.py:"
                       f"{view['flow']}")
    return view


def run_logs(run_id: str, task: str | None = None, query: str | None = None,
             limit: int = 500) -> dict:
    """Log lines of a run (of one task's slug or name if given) containing ``query``
    (case-insensitive): ``{lines: [{task, created, level, message}], total}``."""
    needle = (query or "").lower()
    lines: list[dict] = []
    total = 0

    def take(label: str, records: Any) -> None:
        nonlocal total
        for r in records or ():
            if not isinstance(r, dict):
                continue
            text = str(r.get("msg", ""))
            if r.get("exc_text"):
                text += "\n" + str(r["exc_text"])
            if needle and needle not in text.lower() and needle not in label.lower():
                continue
            total += 1
            if len(lines) < limit:
                lines.append({"task": label, "created": r.get("created"),
                              "level": r.get("levelname"), "message": text})

    for entry in _entries(find_path(run_id)):
        kind = entry.get("kind")
        if kind not in ("task", "children") or (
                task and task not in (entry.get("slug"), entry.get("name"))):
            continue
        name = entry.get("name") or entry.get("slug")
        if kind == "task":
            take(name, entry.get("logs"))
        else:
            offset = entry.get("offset") or 0
            for i, records in sorted((entry.get("logs") or {}).items()):
                take(f"{name}[{offset + i}]", records)
    lines.sort(key=lambda line: line["created"] or 0.0)
    return {"lines": lines, "total": total}
