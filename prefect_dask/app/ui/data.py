"""What the UI shows, as plain JSON-able dicts, read from the run history (``store.history``).

The pages and the JSON API read only these functions; the history does the
reading of records (and knows whether an unfinished run's driver still lives).
Here its answers are shaped for a page: counts by state per run, failure
groups with a label, and the timeline's spans relative to the run's start,
binned per lane when there are too many to draw one by one.
"""

from __future__ import annotations

import logging
import shlex
from collections import Counter

from ...errors import RunRecordError
from ...store.history import FAILED_STATES, RUNNING, History

__all__ = ["runs_page", "run_view", "run_logs", "run_children", "SHORT", "BINS", "EACH",
           "LOG_LINES", "CHILDREN"]

SHORT = 8          # characters of a run id shown in lists
BINS = 160         # time bins of a lane when a run has too many spans to draw each
EACH = 1500        # at most this many spans are drawn one by one
MAX_LANES = 48     # further workers share one lane
MAX_GROUPS = 50    # failure groups shown
LOG_LINES = 500    # log lines shown at once
CHILDREN = 500     # mapped children listed a page


def _summary(h: History, run: dict) -> dict:
    """A run as the list shows it: the history's fields plus task runs counted by state."""
    counts: Counter = Counter()
    for t in h.tasks(run["run_id"]):
        counts.update(t["counts"])
    return {"run_id": run["run_id"], "short": run["run_id"][:SHORT], "flow": run["flow"],
            "state": run["state"], "live": run["state"] == RUNNING and not run["ended"],
            "message": run["message"], "started": run["started"], "finished": run["finished"],
            "duration": run["duration"], "executor": run["executor"],
            "counts": dict(counts.most_common()), "done": run["task_runs"],
            "expected": run["expected"], "failed": run["failed"]}


def runs_page(h: History, flow: str | None = None, state: str | None = None, page: int = 1,
              per_page: int = 50) -> dict:
    """Recorded runs, newest first, filtered by flow and state: ``{runs, total, page, pages,
    flows}``."""
    total = h.count(flow, state)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = h.runs(flow, state, limit=per_page, offset=(page - 1) * per_page)
    return {"runs": [_summary(h, r) for r in rows], "total": total, "page": page,
            "pages": pages, "flows": [f for f in h.flows() if f is not None]}


def _dominant(counts: dict) -> str:
    """The state a span is drawn in: a failed one if any, else the commonest."""
    failed = [s for s in counts if s in FAILED_STATES]
    return failed[0] if failed else max(counts, key=counts.get, default="Success")


def _timeline(raw: dict, t0: float | None) -> dict:
    """Lanes per worker of segments ``{start, end, state, n, states, label}`` (seconds from
    the run's start).  With more than ``EACH`` spans, each lane is cut into ``BINS`` bins
    and a segment holds every span starting in its bin."""
    t0 = t0 if t0 is not None else (raw["start"] or 0.0)
    t1 = max(raw["end"] or t0, t0)
    span = max(t1 - t0, 1e-6)
    by_size = sorted(raw["lanes"], key=lambda lane: -len(lane["spans"]))
    named = sorted(by_size[:MAX_LANES], key=lambda lane: str(lane["worker"]))
    lanes = [{"worker": lane["worker"], "spans": lane["spans"]} for lane in named]
    if len(by_size) > MAX_LANES:
        lanes.append({"worker": "other workers",
                      "spans": [s for lane in by_size[MAX_LANES:] for s in lane["spans"]]})
    binned = sum(len(lane["spans"]) for lane in lanes) > EACH
    out = []
    for lane in lanes:
        cells: dict[int, list] = {}
        for s in lane["spans"]:
            key = min(int((s["started"] - t0) / span * BINS), BINS - 1) if binned else len(cells)
            cell = cells.get(key)
            if cell is None:
                cells[key] = [Counter(s["counts"]), Counter({s["name"]: s["n"]}),
                              s["started"], s["finished"]]
            else:
                cell[0].update(s["counts"])
                cell[1][s["name"]] += s["n"]
                cell[2], cell[3] = min(cell[2], s["started"]), max(cell[3], s["finished"])
        out.append({"worker": lane["worker"], "segments": [
            {"start": start - t0, "end": end - t0, "n": sum(states.values()),
             "state": _dominant(states), "states": dict(states.most_common()),
             "label": ", ".join(name if len(names) == 1 and sum(names.values()) == 1
                                else f"{n:,} {name}" for name, n in names.most_common(3))}
            for _, (states, names, start, end) in sorted(cells.items())]})
    return {"span": t1 - t0, "lanes": out}


def run_view(h: History, ref: str) -> dict:
    """One run (a run id, a unique prefix or ``last``): its summary plus ``parameters``,
    ``tasks`` (task x state counts), ``failures`` (grouped), ``timeline``, ``dashboard``
    and ``resume`` (the command)."""
    run = h.run(ref)
    run_id = run["run_id"]
    view = _summary(h, run)
    tasks = []
    for t in h.tasks(run_id, helpers=False):
        took = (t["finished"] - t["started"]) if t["started"] is not None \
            and t["finished"] is not None else None
        tasks.append({"slug": t["slug"], "name": t["name"] or t["slug"], "state": t["state"],
                      "mapped": bool(t["width"]), "counts": t["counts"],
                      "total": sum(t["counts"].values()), "attempts": t["attempts"],
                      "duration": took, "logs": t["logs"]})
    groups = [{"task": g["name"] or g["slug"], "state": g["state"],
               "exception": g["exception"] or g["state"], "count": g["n"],
               "examples": [f"{g['name']}[{i}]" for i in g["map_indexes"][:5]] or [g["name"]],
               "message": g["message"], "traceback": g["traceback"]}
              for g in h.failures(run_id)]
    view.update(parameters=run["parameters"], tasks=tasks, failures=groups[:MAX_GROUPS],
                failure_groups=len(groups), timeline=_timeline(h.timeline(run_id),
                                                               run["started"]),
                dashboard=run.get("dashboard"),
                resume=f"prefect-dask resume {run_id} --file "
                       + shlex.quote(f"path/to/flow_file.py:{run['flow']}"))
    return view


def run_logs(h: History, ref: str, task: str | None = None, query: str | None = None,
             limit: int = LOG_LINES) -> dict:
    """Log lines of a run (of one task's slug or name if given) holding ``query``
    (case-insensitive): ``{lines: [{task, created, level, message}], more}``."""
    run_id = h.resolve(ref)
    names = {t["slug"]: t["name"] or t["slug"] for t in h.tasks(run_id)}
    rows = h.logs(run_id, task or None, limit=limit + 1, search=query or None)
    lines = [{"task": names.get(r["slug"], r["slug"])
              + ("" if r["map_index"] is None else f"[{r['map_index']}]"),
              "created": r["created"],
              "level": logging.getLevelName(r["level"]) if r["level"] is not None else None,
              "message": (r["message"] or "") + (f"\n{r['exc_text']}" if r["exc_text"] else "")}
             for r in rows[:limit]]
    return {"lines": lines, "more": len(rows) > limit}


def run_children(h: History, ref: str, task: str, state: str | None = None,
                 page: int = 1) -> dict:
    """The map indexes of ``task``'s children (in ``state`` if given), ``CHILDREN`` a page:
    ``{run_id, short, flow, task, state, children: [{map_index, state}], page, more}``."""
    run = h.run(ref)
    names = {t["slug"]: t["name"] or t["slug"] for t in h.tasks(run["run_id"])}
    slug = task if task in names else next((k for k, v in names.items() if v == task), None)
    if slug is None:
        raise RunRecordError(f"Run {run['run_id']} has no task {task!r}; its tasks are: "
                             f"{', '.join(sorted(names.values()))}.")
    page = max(1, page)
    rows = h.children(run["run_id"], slug, state or None, limit=CHILDREN + 1,
                      offset=(page - 1) * CHILDREN)
    return {"run_id": run["run_id"], "short": run["run_id"][:SHORT], "flow": run["flow"],
            "task": names[slug], "slug": slug, "state": state or None,
            "children": rows[:CHILDREN], "page": page, "more": len(rows) > CHILDREN}
