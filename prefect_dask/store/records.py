"""Run records: what each flow run did, as msgpack under ``$PREFECT_DASK_HOME/runs/``.

A record is a stream of msgpack maps appended as the run goes: a ``start``
entry (run id, flow, parameters, executor, time), one ``task`` or ``children``
entry per finished graph node (state type, message, attempts, timings, result
location), and an ``end`` entry.  Appending as nodes finish means a driver
killed mid-run leaves a readable record of what finished; a torn last entry
is ignored on reading.  Records are never pickled: reading one cannot run code.
Each run also points itself out, when it starts, as its flow's newest run
(``runs/last/``): ``find_run("last", flow)`` reads one record, not all of them.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import msgpack

from ..errors import RunRecordError
from ..results import atomic_write, home, private_dir
from ..states import Failed, MapStates, State

__all__ = ["RunRecorder", "read_record", "list_runs", "find_run", "records_dir"]


def records_dir() -> Path:
    return home() / "runs"


def _last_pointer(flow_name: str) -> Path:
    """The file naming the newest run of ``flow_name`` (``resume="last"`` reads it
    instead of every record): ``runs/last/<hash of the flow name>``."""
    return records_dir() / "last" / hashlib.sha256(flow_name.encode()).hexdigest()[:32]


def _read_pointer(flow_name: str) -> dict | None:
    try:
        pointer = msgpack.unpackb(_last_pointer(flow_name).read_bytes(), raw=False)
    except (OSError, ValueError, msgpack.UnpackException):
        return None
    if not isinstance(pointer, dict) or pointer.get("flow") != flow_name or not isinstance(
            pointer.get("run_id"), str) or Path(pointer["run_id"]).name != pointer["run_id"]:
        return None   # not a pointer of this flow (or not one we wrote)
    return pointer


def _point_to(flow_name: str, run_id: str, started: float) -> None:
    """Make ``run_id`` the newest run of ``flow_name`` unless a run that started later
    already is (written atomically when the run starts: a crashed run is found too)."""
    pointer = _read_pointer(flow_name)
    if pointer is not None and (pointer.get("started") or 0.0) > started:
        return
    atomic_write(_last_pointer(flow_name), msgpack.packb(
        {"flow": flow_name, "run_id": run_id, "started": started}, use_bin_type=True))


def _plain(value: Any) -> Any:
    """What msgpack cannot hold, as its repr."""
    return repr(value)


def _message(state: State) -> str | None:
    return None if state.message is None else str(state.message)


def _state_entry(slug: str, state: State) -> dict:
    return {"kind": "task", "slug": slug, "name": state.task_name, "map_index": state.map_index,
            "state": type(state).__name__, "message": _message(state),
            "attempts": state.attempts, "started": state.started, "finished": state.finished,
            "location": state.location, "logs": list(state.logs), "worker": state.worker}


def _children_entry(slug: str, chunk: MapStates) -> dict:
    return {"kind": "children", "slug": slug, "name": chunk.task_name, "offset": chunk.offset,
            "states": chunk.type_names(),
            "messages": {i: str(m) for i, m in chunk.messages.items()},
            "attempts": list(chunk.attempts), "started": list(chunk.started),
            "finished": list(chunk.finished), "locations": dict(chunk.locations),
            "logs": {i: list(logs) for i, logs in chunk.logs.items()},
            "workers": list(chunk.workers)}


class RunRecorder:
    """Appends one flow run's record as it goes (one open file, flushed per entry)."""

    def __init__(self, run_id: str, flow_name: str, parameters: dict, executor: str,
                 dashboard: str | None = None, helpers: Collection[str] = ()) -> None:
        self.helpers = frozenset(helpers)   # slugs of tasks task.is_helper picks out
        folder = records_dir()
        private_dir(folder)
        self.path = folder / f"{run_id}.msgpack"
        self._fh = open(self.path, "ab")
        os.chmod(self.path, 0o600)
        # pid and host tell a reader whether an unfinished run's driver still lives
        started = time.time()
        self._write({"kind": "start", "run_id": run_id, "flow": flow_name,
                     "parameters": parameters, "executor": executor, "started": started,
                     "pid": os.getpid(), "host": socket.gethostname(), "dashboard": dashboard})
        _point_to(flow_name, run_id, started)

    def expect(self, n: int) -> None:
        """``n`` more task runs will finish (a stage was compiled): readers show progress."""
        self._write({"kind": "expect", "n": n})

    def resumed(self, run_id: str, sources: dict[str, list[str]]) -> None:
        """This run resumes ``run_id``; ``sources[slug]``: the runs whose checkpoint folders
        the task's reused results may be in (a later resume of this run looks there too)."""
        self._write({"kind": "resumed", "run_id": run_id, "sources": sources})

    def _write(self, entry: dict) -> None:
        self._fh.write(msgpack.packb(entry, default=_plain, use_bin_type=True))
        self._fh.flush()

    def node(self, key: Any, value: Any) -> None:
        """Record a finished graph node: a task's State or a batch of mapped children."""
        slug = key[0] if isinstance(key, tuple) else key
        if isinstance(value, MapStates):
            self._write(_children_entry(slug, value))
        elif isinstance(value, State):
            if isinstance(key, tuple):  # a crashed batch comes back as a tuple of States
                return
            entry = _state_entry(slug, value)
            if slug in self.helpers:
                entry["helper"] = True
            self._write(entry)
        elif isinstance(value, tuple):
            self._write(_children_entry(slug, MapStates.from_states(
                value[0].task_name if value else None, value,
                offset=value[0].map_index if value else 0)))

    def end(self, state: State) -> None:
        self._write({"kind": "end", "state": type(state).__name__, "message": _message(state),
                     "finished": time.time()})
        self._fh.close()

    def __enter__(self) -> "RunRecorder":
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        """A run left by an error in the driver still ends: Failed, naming the error."""
        if self._fh.closed:
            return
        if exc is None:
            self._fh.close()
            return
        self.end(Failed(f"The flow run stopped: the driver raised {exc!r}."))


def _entries(path: Path) -> Iterator[dict]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    with open(path, "rb") as fh:
        unpacker.feed(fh.read())
    try:
        for entry in unpacker:
            if isinstance(entry, dict):
                yield entry
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError,
            TypeError):   # TypeError: garbage that decodes as a map with a list for a key
        return  # a torn last entry (the driver died while writing it), or not a record


def read_record(path: str | os.PathLike) -> dict:
    """A run record as a dict: ``run_id, flow, parameters, executor, started, finished,
    state, message, pid, host, dashboard, expected`` (task runs announced), ``resumed_from``
    (``{slug: [run ids]}`` if it resumed a run, see ``RunRecorder.resumed``) and ``tasks``: ``{slug: {"name", "state", ..., "children": {i: {...}}}}``."""
    path = Path(path)
    record: dict[str, Any] = {"tasks": {}, "state": None, "finished": None, "path": str(path)}
    for entry in _entries(path):
        kind = entry.get("kind")
        if kind == "start":
            record.update({k: entry.get(k) for k in ("run_id", "flow", "parameters", "executor",
                                                     "started", "pid", "host", "dashboard")})
        elif kind == "resumed":
            record["resumed_from"] = entry.get("sources") or {}
        elif kind == "expect":
            record["expected"] = record.get("expected", 0) + entry.get("n", 0)
        elif kind == "task":
            task = record["tasks"].setdefault(entry["slug"], {"children": {}})
            task.update({k: entry.get(k) for k in ("name", "state", "message", "attempts",
                                                    "started", "finished", "location", "logs",
                                                    "worker")}, helper=bool(entry.get("helper")))
        elif kind == "children":
            task = record["tasks"].setdefault(entry["slug"], {"children": {}})
            task.setdefault("name", entry.get("name"))
            offset = entry.get("offset", 0)
            for i, state in enumerate(entry.get("states", [])):
                started, finished = entry["started"][i], entry["finished"][i]
                task["children"][offset + i] = {
                    "state": state, "message": entry["messages"].get(i),
                    "attempts": entry["attempts"][i],
                    "started": None if started != started else started,
                    "finished": None if finished != finished else finished,
                    "location": entry["locations"].get(i),
                    "logs": entry.get("logs", {}).get(i, []),
                    "worker": (entry.get("workers") or [None] * (i + 1))[i]}
        elif kind == "end":
            record.update(state=entry.get("state"), message=entry.get("message"),
                          finished=entry.get("finished"))
    if "run_id" not in record:
        raise RunRecordError(f"{path} is not a prefect_dask run record (no start entry).")
    return record


def list_runs(limit: int | None = None) -> list[dict]:
    """Recent run records, newest first."""
    folder = records_dir()
    if not folder.exists():
        return []
    paths = sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    out = []
    for p in paths[:limit]:
        try:
            out.append(read_record(p))
        except (RunRecordError, OSError):
            continue
    return out


def find_run(run_id: str, flow_name: str | None = None) -> dict:
    """The record of ``run_id`` ("last" = the one started last, of ``flow_name`` if given:
    by the start time it records, not by when its file was last written)."""
    if run_id == "last":
        pointer = _read_pointer(flow_name) if flow_name is not None else None
        path = records_dir() / f"{pointer['run_id']}.msgpack" if pointer else None
        if path is not None and path.exists():   # else (pruned, older version): look at all
            record = read_record(path)
            if record["flow"] == flow_name:
                return record
        runs = [r for r in list_runs() if flow_name is None or r["flow"] == flow_name]
        if not runs:
            raise RunRecordError(
                f"No earlier run{f' of flow {flow_name!r}' if flow_name else ''} is recorded "
                f"in {records_dir()}; run the flow once first.")
        return max(runs, key=lambda r: r.get("started") or 0.0)
    path = records_dir() / f"{run_id}.msgpack"
    if not path.exists():
        recent = ", ".join(f"{r['run_id']} ({r['flow']})" for r in list_runs(5)) or "none"
        raise RunRecordError(f"No run {run_id!r} is recorded in {records_dir()}. Recent runs: "
                             f"{recent}.")
    record = read_record(path)
    if flow_name is not None and record["flow"] != flow_name:
        raise RunRecordError(f"Run {run_id!r} is a run of flow {record['flow']!r}, not of "
                             f"{flow_name!r}; resume it with that flow.")
    return record
