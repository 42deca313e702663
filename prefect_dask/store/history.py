"""Run history: a SQLite index over the run records, rebuilt from them when missing or stale.

The msgpack records under ``$PREFECT_DASK_HOME/runs/`` stay the truth (crash-safe,
appended as a run goes, see ``records``); ``$PREFECT_DASK_HOME/history.sqlite``
(stdlib ``sqlite3``, WAL) indexes them so that listing and showing runs does not read
every record.  ``prefect-dask runs list/show/logs/prune``, ``prefect-dask report`` and
the web UI (``prefect-dask ui``) all read runs through the small API below; keep it
stable.

Keeping up: every read first *syncs* — records that are new, or whose run had not
ended when last indexed, are read from the byte where the index stopped (a record
only grows), so a running flow's page sees each finished node.  Ended runs are never
read again.  Nothing writes the index but a sync, so several processes writing one
home at once stay correct: each sync of a run is one ``BEGIN IMMEDIATE`` transaction
that re-reads how far the run was indexed.  A missing, corrupt or older-schema index
is rebuilt from the records.

What is kept, per run: flow, state (``Running`` while its driver lives, ``Crashed``
when it died before the end entry), times, executor, parameters (secret ones masked by
the record), the number of task runs and of failed ones.  Per task: its own state and
timings and its mapped children aggregated — counts by state, failures grouped by
state and exception (a count, the first map indexes, one message and one traceback),
timeline spans (consecutive task runs of a task on one worker merged, so a 10^6-child
run is a few hundred spans, not 10^6 rows) — and its log lines (the first
``LOG_CAP``; the record keeps them all).

API (all return plain dicts and lists, JSON-ready)::

    h = History()                       # this home (or History(root))
    h.runs(flow=None, state=None, since=None, limit=50, offset=0)   # newest first
    h.count(flow=None, state=None, since=None)
    h.resolve("last" | run id | unique prefix, flow=None)            # the full run id
    h.run("last" | run id | unique prefix, flow=None)
    h.flows()                           # flow names that have runs
    h.tasks(run_id)                     # task x state table, timings
    h.failures(run_id)                  # grouped, with a traceback each
    h.children(run_id, task, state=None, limit=100, offset=0)        # map indexes by state
    h.logs(run_id, task=None, level=0, limit=None, offset=0, search=None)
    h.timeline(run_id)                  # lanes per worker of merged spans
    h.prune(older_than_seconds)         # delete ended runs' records and index rows

>>> import tempfile
>>> with History(tempfile.mkdtemp()) as h:
...     h.runs(), h.count()
([], 0)
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import socket
import sqlite3
import threading
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

import msgpack

from ..errors import RunRecordError
from ..results import home, private_dir, remove_checkpoints

__all__ = ["History", "FAILED_STATES", "LOG_CAP", "RUNNING", "CRASHED"]

SCHEMA = 5
LOG_CAP = 10_000          # log lines kept in the index per task (the record keeps all)
SAMPLE = 20               # map indexes kept per failure group
RUNNING, CRASHED = "Running", "Crashed"
FAILED_STATES = frozenset({"Failed", "TriggerFailed", "TimedOut", "Crashed",
                           "ValidationFailed", "Cancelled"})

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, flow TEXT, state TEXT, ended INTEGER NOT NULL DEFAULT 0,
    message TEXT, executor TEXT, parameters TEXT, started REAL, finished REAL,
    last_seen REAL, task_runs INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, expected INTEGER NOT NULL DEFAULT 0, dashboard TEXT,
    pid INTEGER, host TEXT,
    path TEXT, size INTEGER NOT NULL DEFAULT 0, offset INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started);
CREATE INDEX IF NOT EXISTS runs_flow ON runs (flow, started);
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT, slug TEXT, seq INTEGER, name TEXT, state TEXT, message TEXT,
    attempts INTEGER, started REAL, finished REAL, worker TEXT, location TEXT,
    width INTEGER NOT NULL DEFAULT 0, counts TEXT, kinds BLOB, groups BLOB, failures TEXT,
    logs INTEGER NOT NULL DEFAULT 0, logs_dropped INTEGER NOT NULL DEFAULT 0,
    helper INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, slug));
CREATE TABLE IF NOT EXISTS logs (
    run_id TEXT, slug TEXT, map_index INTEGER, created REAL, level INTEGER,
    logger TEXT, message TEXT, exc_text TEXT);
CREATE INDEX IF NOT EXISTS logs_task ON logs (run_id, slug);
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY, run_id TEXT, slug TEXT, worker TEXT, started REAL,
    finished REAL, n INTEGER, counts TEXT);
CREATE INDEX IF NOT EXISTS spans_run ON spans (run_id, slug, worker);
CREATE TABLE IF NOT EXISTS sources (
    run_id TEXT, source TEXT, PRIMARY KEY (run_id, source));
CREATE TABLE IF NOT EXISTS kind_names (code INTEGER PRIMARY KEY, name TEXT UNIQUE);
"""

_EXC = re.compile(r"^Error during execution of task: ([\w.]+)\(")


def exception_name(message: str | None) -> str | None:
    """The exception class a failed task run's message names.

    >>> exception_name("Error during execution of task: ValueError('bad record 3')")
    'ValueError'
    >>> exception_name("Trigger failed") is None
    True
    """
    m = _EXC.match(message or "")
    return m.group(1) if m else None


def _alive(pid: int | None, host: str | None) -> bool:
    """Whether the driver process that writes a record still runs (a driver on another
    machine counts as running: we cannot tell)."""
    if not isinstance(pid, int):
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


class _Task:
    """One task of a run while a sync applies record entries to it."""

    def __init__(self, slug: str, seq: int, row: dict | None = None) -> None:
        row = row or {}
        self.slug, self.seq = slug, row.get("seq", seq)
        self.own = {k: row.get(k) for k in ("name", "state", "message", "attempts", "started",
                                             "finished", "worker", "location")}
        self.kinds = bytearray(row.get("kinds") or b"")
        # failed children only: map index -> failure group (stored as (index << 16) | group)
        self.groups = {int(v >> 16): int(v & 0xFFFF)
                       for v in array("Q", row.get("groups") or b"")}
        self.failures: list[dict] = json.loads(row["failures"]) if row.get("failures") else []
        self.logs, self.logs_dropped = row.get("logs", 0), row.get("logs_dropped", 0)
        self.helper = bool(row.get("helper"))   # a Constant or Parameter (task.is_helper)
        self.dirty = not row

    def group(self, state: str, message: str | None) -> int:
        """The failure group (1-based) of a failed run of this task, made if new."""
        exc = exception_name(message)
        for gid, g in enumerate(self.failures, 1):
            if g["state"] == state and g["exception"] == exc:
                return gid
        self.failures.append({"state": state, "exception": exc, "message": message,
                              "traceback": None, "n": 0, "map_indexes": []})
        return len(self.failures)


class History:
    """The run history of one home (``PREFECT_DASK_HOME`` unless ``root`` is given).

    Safe to share between threads (one lock); open one per process."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else home()
        self.runs_dir = self.root / "runs"
        self.path = self.root / "history.sqlite"
        self._lock = threading.RLock()
        self._db = self._open()

    # -- opening, rebuilding --------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        private_dir(self.root)
        for attempt in range(2):
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                 check_same_thread=False)
            try:
                os.chmod(self.path, 0o600)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                    self._create(db)
                return db
            except sqlite3.DatabaseError:
                db.close()
                if attempt:
                    raise
                # not a database (or a torn one): set it aside, rebuild from the records
                os.replace(self.path, f"{self.path}.corrupt-{os.getpid()}")
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        raise AssertionError("unreachable")

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        db.execute("BEGIN EXCLUSIVE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:  # not done meanwhile
                for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"
                                          ).fetchall():
                    db.execute(f'DROP TABLE "{name}"')
                for statement in _TABLES.split(";"):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- keeping up with the records ------------------------------------------------
    def sync(self, run_id: str | None = None) -> None:
        """Index what the records hold that the index does not (one run, or all)."""
        with self._lock:
            if run_id is not None:
                self._sync_one(run_id, self.runs_dir / f"{run_id}.msgpack")
                return
            try:
                names = {e.name[:-8] for e in os.scandir(self.runs_dir)
                         if e.name.endswith(".msgpack")}
            except FileNotFoundError:
                names = set()
            known = {r["run_id"]: r["ended"] for r in
                     self._db.execute("SELECT run_id, ended FROM runs")}
            gone = [r for r in known if r not in names]
            if gone:
                self._forget(gone)
            stale = [rid for rid in sorted(names) if not known.get(rid)]
            for i in range(0, len(stale), 200):   # a transaction per 200 runs, not per run
                self._sync_many(stale[i:i + 200])

    def _forget(self, run_ids: list[str]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("runs", "tasks", "logs", "spans", "sources"):
                db.executemany(f"DELETE FROM {table} WHERE run_id = ?", [(r,) for r in run_ids])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _sync_one(self, run_id: str, path: Path) -> None:
        self._sync_many([run_id])

    def _sync_many(self, run_ids: list[str]) -> None:
        """Index what is new in these runs' records, in one transaction."""
        db, work = self._db, []
        for run_id in run_ids:
            path = self.runs_dir / f"{run_id}.msgpack"
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                self._forget([run_id])
                continue
            row = db.execute("SELECT ended, size, state, pid, host FROM runs WHERE run_id = ?",
                             (run_id,)).fetchone()
            if row is not None and row["size"] == size:   # nothing new in the record
                if not row["ended"]:
                    state = RUNNING if _alive(row["pid"], row["host"]) else CRASHED
                    if state != row["state"]:
                        db.execute("UPDATE runs SET state = ? WHERE run_id = ?",
                                   (state, run_id))
                continue
            work.append((run_id, path, size))
        if not work:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            for run_id, path, size in work:
                # read again inside the transaction: another process may have indexed it
                row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                start = 0 if row is None or row["size"] > size else row["offset"]
                if start == 0 and row is not None:
                    for table in ("runs", "tasks", "logs", "spans"):
                        db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
                    row = None
                if start < size:
                    _Sync(db, run_id, path, dict(row) if row is not None else None
                          ).apply(start, size)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reading --------------------------------------------------------------------
    @staticmethod
    def _where(flow: str | None, state: str | None, since: float | None) -> tuple[str, list]:
        clauses, args = [], []
        if flow is not None:
            clauses.append("flow = ?")
            args.append(flow)
        if state is not None:
            clauses.append("lower(state) = lower(?)")
            args.append(state)
        if since is not None:
            clauses.append("started >= ?")
            args.append(since)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def runs(self, flow: str | None = None, state: str | None = None,
             since: float | None = None, limit: int | None = 50, offset: int = 0) -> list[dict]:
        """Runs, newest first: see ``_run_dict`` for the fields."""
        with self._lock:
            self.sync()
            where, args = self._where(flow, state, since)
            rows = self._db.execute(f"SELECT * FROM runs{where} ORDER BY started DESC "
                                    f"LIMIT ? OFFSET ?", (*args, -1 if limit is None else limit,
                                                          offset)).fetchall()
            return [_run_dict(r) for r in rows]

    def count(self, flow: str | None = None, state: str | None = None,
              since: float | None = None) -> int:
        """How many runs ``runs(...)`` would list without a limit (for pages)."""
        with self._lock:
            self.sync()
            where, args = self._where(flow, state, since)
            return self._db.execute(f"SELECT count(*) FROM runs{where}", args).fetchone()[0]

    def flows(self) -> list[str]:
        """The names of the flows that have runs."""
        with self._lock:
            self.sync()
            return [r[0] for r in self._db.execute("SELECT DISTINCT flow FROM runs ORDER BY 1")]

    def resolve(self, ref: str, flow: str | None = None) -> str:
        """The full run id of ``ref``: ``"last"`` (newest, of ``flow`` if given), a run id or a
        unique prefix of one.  Errors say what there is instead."""
        with self._lock:
            self.sync()
            db = self._db
            if ref == "last":
                q, args = "SELECT run_id FROM runs", []
                if flow is not None:
                    q, args = q + " WHERE flow = ?", [flow]
                row = db.execute(q + " ORDER BY started DESC LIMIT 1", args).fetchone()
                if row is None:
                    raise RunRecordError(
                        f"No earlier run{f' of flow {flow!r}' if flow else ''} is recorded in "
                        f"{self.runs_dir}; run the flow once first.")
                return row[0]
            ref = ref.strip()
            hits = [r[0] for r in db.execute(
                "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id "
                "LIMIT 6", (ref, ref + "\U0010ffff"))] if ref else []
            if len(hits) == 1:
                return hits[0]
            if hits:
                raise RunRecordError(
                    f"Run id prefix {ref!r} is ambiguous: it starts {', '.join(hits[:5])}"
                    f"{' ...' if len(hits) > 5 else ''}; give more characters.")
            recent = ", ".join(f"{r['run_id'][:8]} ({r['flow']})" for r in
                               self.runs(limit=5)) or "none"
            raise RunRecordError(f"No run {ref!r} is recorded in {self.runs_dir}. Recent runs: "
                                 f"{recent}.")

    def run(self, ref: str, flow: str | None = None) -> dict:
        """One run (``ref`` as in ``resolve``), as ``runs()`` lists it, with ``path``."""
        with self._lock:
            run_id = self.resolve(ref, flow)
            self.sync(run_id)
            row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:  # pruned meanwhile
                raise RunRecordError(f"Run {run_id} is no longer recorded in {self.runs_dir}.")
            out = _run_dict(row)
            if flow is not None and out["flow"] != flow:
                raise RunRecordError(f"Run {run_id!r} is a run of flow {out['flow']!r}, not of "
                                     f"{flow!r}.")
            return out

    def tasks(self, run_id: str, helpers: bool = True) -> list[dict]:
        """The run's tasks in the order they finished first: ``slug, name, state, message,
        attempts, started, finished, worker, location, width`` (mapped children),
        ``counts`` (``{state: n}``: the children's, or the task's own state), ``failed``,
        ``logs``, ``helper`` (a Constant or Parameter: ``task.is_helper``);
        ``helpers=False`` leaves helper tasks out, as the views that list tasks do."""
        with self._lock:
            self.sync(run_id)
            rows = self._db.execute(
                "SELECT slug, seq, name, state, message, attempts, started, finished, worker, "
                "location, width, counts, logs, logs_dropped, helper FROM tasks WHERE "
                f"run_id = ? {'' if helpers else 'AND helper = 0 '}ORDER BY seq",
                (run_id,)).fetchall()
            out = []
            for r in rows:
                d = {k: r[k] for k in r.keys() if k not in ("seq", "counts", "helper")}
                d["helper"] = bool(r["helper"])
                d["counts"] = json.loads(r["counts"] or "{}")
                d["failed"] = sum(n for s, n in d["counts"].items() if s in FAILED_STATES)
                out.append(d)
            return out

    def failures(self, run_id: str, task: str | None = None) -> list[dict]:
        """Failed task runs grouped by task, state and exception: ``slug, name, state,
        exception, n, map_indexes`` (the first few; empty for a task that is not mapped),
        ``message`` and ``traceback`` (of the first one), most frequent first."""
        with self._lock:
            self.sync(run_id)
            q = "SELECT slug, name, failures FROM tasks WHERE run_id = ? AND failures IS NOT NULL"
            args: list = [run_id]
            if task is not None:
                q += " AND (slug = ? OR name = ?)"
                args += [task, task]
            out = []
            for r in self._db.execute(q + " ORDER BY seq", args):
                for g in json.loads(r["failures"]):
                    if g["n"]:
                        g["map_indexes"].sort()
                        out.append({"slug": r["slug"], "name": r["name"], **g})
            out.sort(key=lambda g: -g["n"])
            return out

    def children(self, run_id: str, task: str, state: str | None = None,
                 limit: int | None = 100, offset: int = 0) -> list[dict]:
        """The mapped children of ``task`` (slug or name), in map-index order, of one
        ``state`` if given: ``{"map_index", "state"}``."""
        with self._lock:
            self.sync(run_id)
            row = self._db.execute("SELECT kinds FROM tasks WHERE run_id = ? AND (slug = ? OR "
                                   "name = ?) ORDER BY seq LIMIT 1", (run_id, task, task)
                                   ).fetchone()
            names = dict(self._db.execute("SELECT code, name FROM kind_names").fetchall())
            kinds = row["kinds"] if row is not None and row["kinds"] else b""
            found = (i for i, c in enumerate(kinds)
                     if c and (state is None or names[c].lower() == state.lower()))
            stop = None if limit is None else offset + limit
            return [{"map_index": i, "state": names[kinds[i]]}
                    for i in itertools.islice(found, offset, stop)]

    def logs(self, run_id: str, task: str | None = None, level: int = 0,
             limit: int | None = None, offset: int = 0, search: str | None = None) -> list[dict]:
        """Log lines of the run (of one task: its slug or name; holding ``search`` in their
        message or traceback, case-insensitive), in order: ``slug, map_index, created, level,
        logger, message, exc_text``."""
        with self._lock:
            self.sync(run_id)
            q = "SELECT slug, map_index, created, level, logger, message, exc_text FROM logs " \
                "WHERE run_id = ? AND level >= ?"
            args: list = [run_id, level]
            if task is not None:
                slugs = [r[0] for r in self._db.execute(
                    "SELECT slug FROM tasks WHERE run_id = ? AND (slug = ? OR name = ?)",
                    (run_id, task, task))]
                q += f" AND slug IN ({','.join('?' * len(slugs))})"
                args += slugs
            if search:
                q += " AND (instr(lower(message), lower(?)) OR instr(lower(exc_text), lower(?)))"
                args += [search, search]
            q += " ORDER BY created IS NULL, created, rowid LIMIT ? OFFSET ?"
            args += [-1 if limit is None else limit, offset]
            return [dict(r) for r in self._db.execute(q, args)]

    def timeline(self, run_id: str) -> dict:
        """What ran where and when: ``{"start", "end", "lanes": [{"worker", "spans":
        [{"slug", "name", "started", "finished", "n", "counts"}]}]}``; a span is one task
        run, or consecutive runs of one task's children on one worker."""
        with self._lock:
            self.sync(run_id)
            names = dict(self._db.execute("SELECT slug, name FROM tasks WHERE run_id = ?",
                                          (run_id,)).fetchall())
            lanes: dict[str, list] = {}
            lo, hi = math.inf, -math.inf
            for r in self._db.execute("SELECT slug, worker, started, finished, n, counts "
                                      "FROM spans WHERE run_id = ? ORDER BY started",
                                      (run_id,)):
                lo, hi = min(lo, r["started"]), max(hi, r["finished"])
                lanes.setdefault(r["worker"] or "driver", []).append({
                    "slug": r["slug"], "name": names.get(r["slug"], r["slug"]),
                    "started": r["started"], "finished": r["finished"], "n": r["n"],
                    "counts": json.loads(r["counts"])})
            return {"start": None if lo == math.inf else lo,
                    "end": None if hi == -math.inf else hi,
                    "lanes": [{"worker": w, "spans": s} for w, s in sorted(lanes.items())]}

    # -- pruning --------------------------------------------------------------------
    def prune(self, older_than: float, dry_run: bool = False) -> list[dict]:
        """Delete the records (and index rows) of ended runs that started more than
        ``older_than`` seconds ago, and the checkpoints they left in the default result
        folder (``results.remove_checkpoints``; not those a kept run resumed from and
        reuses); running runs are kept.  Returns the runs pruned, each with
        ``checkpoints``: how many checkpoint files went (or would go)."""
        with self._lock:
            self.sync()
            cutoff = time.time() - older_than
            rows = [_run_dict(r) for r in self._db.execute(
                "SELECT * FROM runs WHERE started < ? AND state != ? ORDER BY started",
                (cutoff, RUNNING))]
            pruned = {r["run_id"] for r in rows}
            reused = {source for run_id, source in self._db.execute(
                "SELECT run_id, source FROM sources") if run_id not in pruned}
            for r in rows:
                r["checkpoints"] = 0 if r["run_id"] in reused or r["flow"] is None else \
                    remove_checkpoints(r["flow"], r["run_id"], dry_run=dry_run)
            if dry_run or not rows:
                return rows
            for r in rows:
                Path(r["path"]).unlink(missing_ok=True)
            self._forget([r["run_id"] for r in rows])
            return rows


def _run_dict(r: sqlite3.Row) -> dict:
    """A run as the API gives it: ``run_id, flow, state`` (the end entry's, else ``Running``
    while the driver lives, ``Crashed`` once it died), ``ended, message, executor,
    parameters, started, finished, duration`` (so far, for a run not ended), ``task_runs``
    (finished ones, mapped children included), ``failed``, ``expected`` (task runs announced
    so far: progress is ``task_runs / expected``), ``dashboard`` (the Dask dashboard link
    the run logged), ``path`` (its record), ``pid`` and ``host`` (of its driver)."""
    end = r["finished"] if r["ended"] else r["last_seen"]
    return {"run_id": r["run_id"], "flow": r["flow"], "state": r["state"],
            "ended": bool(r["ended"]), "message": r["message"], "executor": r["executor"],
            "parameters": json.loads(r["parameters"] or "{}"), "started": r["started"],
            "finished": r["finished"] if r["ended"] else None,
            "duration": None if end is None or r["started"] is None else end - r["started"],
            "task_runs": r["task_runs"], "failed": r["failed"],
            "expected": r["expected"] or None, "dashboard": r["dashboard"], "path": r["path"],
            "pid": r["pid"], "host": r["host"]}


class _Sync:
    """Applies the entries of one record from a byte offset to the index (in a transaction)."""

    def __init__(self, db: sqlite3.Connection, run_id: str, path: Path,
                 row: dict | None) -> None:
        self.db, self.run_id, self.path = db, run_id, path
        self.run = row or {"run_id": run_id, "flow": None, "state": None, "ended": 0,
                           "message": None, "executor": None, "parameters": None,
                           "started": None, "finished": None, "last_seen": None,
                           "task_runs": 0, "failed": 0, "expected": 0, "dashboard": None,
                           "pid": None, "host": None,
                           "path": str(path), "size": 0, "offset": 0}
        self.tasks: dict[str, _Task] = {}
        if row is not None:
            for t in db.execute("SELECT * FROM tasks WHERE run_id = ?", (run_id,)):
                self.tasks[t["slug"]] = _Task(t["slug"], t["seq"], dict(t))
        self.codes = {r[1]: r[0] for r in db.execute("SELECT code, name FROM kind_names")}
        self.names = {v: k for k, v in self.codes.items()}
        self.logs: dict[tuple, list] = {}    # (slug, map index) -> rows to insert
        self.spans: dict[tuple, dict] = {}   # (slug, worker) -> its latest span
        self.touched: dict[int, dict] = {}   # spans to write: id(span) -> span

    def code(self, name: str) -> int:
        code = self.codes.get(name)
        if code is None:
            code = len(self.codes) + 1
            self.db.execute("INSERT INTO kind_names VALUES (?, ?)", (code, name))
            self.codes[name], self.names[code] = code, name
        return code

    def task(self, slug: str, name: str | None) -> _Task:
        t = self.tasks.get(slug)
        if t is None:
            t = self.tasks[slug] = _Task(slug, len(self.tasks))
        if name is not None and t.own["name"] is None:
            t.own["name"] = name
        t.dirty = True
        return t

    def apply(self, start: int, size: int) -> None:
        with open(self.path, "rb") as fh:
            fh.seek(start)
            data = fh.read(size - start)
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=0)
        unpacker.feed(data)
        done = 0
        try:
            for entry in unpacker:
                done = unpacker.tell()
                if isinstance(entry, dict):
                    self.entry(entry)
        except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError):
            pass  # a torn last entry (its writer died while writing it): wait for more
        if self.run["flow"] is None and start == 0 and done == 0:
            return    # not even a start entry yet (or not a record): try again later
        self.run["offset"], self.run["size"] = start + done, start + done
        if not self.run["ended"]:
            self.run["state"] = RUNNING if _alive(self.run["pid"], self.run["host"]) \
                else CRASHED
        self.flush()

    def entry(self, e: dict) -> None:
        kind = e.get("kind")
        if kind == "start":
            self.run.update(flow=e.get("flow"), executor=e.get("executor"),
                            started=e.get("started"), pid=e.get("pid"), host=e.get("host"),
                            dashboard=e.get("dashboard"),
                            parameters=json.dumps(e.get("parameters") or {}, default=repr))
        elif kind == "task" and e.get("map_index") is None:
            self.own(e)
        elif kind == "task":
            self.children(e.get("slug"), e.get("name"), e["map_index"], [e.get("state")],
                          {0: e.get("message")}, [e.get("started")], [e.get("finished")],
                          {0: e.get("logs") or []}, [e.get("worker")])
        elif kind == "children":
            self.children(e.get("slug"), e.get("name"), e.get("offset", 0),
                          e.get("states") or [], e.get("messages") or {},
                          e.get("started") or [], e.get("finished") or [],
                          e.get("logs") or {}, e.get("workers") or [])
        elif kind == "resumed":   # the runs whose checkpoints this run reuses
            self.db.executemany("INSERT OR IGNORE INTO sources VALUES (?, ?)", [
                (self.run_id, s) for s in
                {s for runs in (e.get("sources") or {}).values() for s in runs}])
        elif kind == "expect":   # a stage was compiled: this many more task runs
            self.run["expected"] = (self.run["expected"] or 0) + (e.get("n") or 0)
        elif kind == "end":
            self.run.update(state=e.get("state"), message=e.get("message"),
                            finished=e.get("finished"), ended=1)

    def own(self, e: dict) -> None:
        t = self.task(e["slug"], e.get("name"))
        t.helper = bool(e.get("helper"))
        t.own.update({k: e.get(k) for k in ("state", "message", "attempts", "started",
                                             "finished", "worker", "location")})
        if not t.kinds:   # a task run of its own (a mapped parent's failures are its children)
            t.failures = []
            if e.get("state") in FAILED_STATES:
                g = t.failures[t.group(e["state"], e.get("message")) - 1]
                g["n"], g["traceback"] = 1, _traceback(e.get("logs"))
        self.drop_logs(t, None)
        self.add_logs(t, None, e.get("logs"))
        self.span(t.slug, e.get("worker"), e.get("started"), e.get("finished"),
                  Counter({e.get("state"): 1}))

    def children(self, slug: str, name: str | None, offset: int, states: list,
                 messages: dict, started: list, finished: list, logs: dict,
                 workers: list) -> None:
        """A batch of mapped children ``offset, offset + 1, ...`` (columns, as recorded).

        Per-child work is done by column where it can (a batch can be 20,000 children)."""
        t = self.task(slug, name)
        n, end = len(states), offset + len(states)
        if len(t.kinds) < end:
            t.kinds.extend(bytes(end - len(t.kinds)))
        codes = {st: self.code(st) for st in set(states)}
        before = t.kinds[offset:end]
        t.kinds[offset:end] = bytes(codes[st] for st in states)
        again = () if before.count(0) == n else [j for j, c in enumerate(before) if c]
        for j in again:           # recorded before: undo what its earlier entry counted
            old = t.groups.pop(offset + j, 0)
            if old:
                t.failures[old - 1]["n"] -= 1
            self.drop_logs(t, offset + j)
        for j in (j for j, st in enumerate(states) if st in FAILED_STATES):
            i = offset + j
            gid = t.groups[i] = t.group(states[j], messages.get(j))
            g = t.failures[gid - 1]
            g["n"] += 1
            _sample(g["map_indexes"], i)
            if g["traceback"] is None:
                g["traceback"] = _traceback(logs.get(j))
        for j in sorted(logs):
            self.add_logs(t, offset + j, logs[j])
        lanes = set(workers)
        if len(lanes) == 1 and len(started) == len(finished) == n:   # one batch, one worker
            s = [x for x in started if x is not None and x == x]
            f = [x for x in finished if x is not None and x == x]
            if s and f:
                self.span(slug, workers[0], min(s), max(f), Counter(states))
            return
        by_worker: dict[Any, list] = {}
        for j, state in enumerate(states):
            s, f = _num(started[j] if j < len(started) else None), \
                _num(finished[j] if j < len(finished) else None)
            if s is not None and f is not None:
                w = workers[j] if j < len(workers) else None
                acc = by_worker.setdefault(w, [s, f, Counter()])
                acc[0], acc[1] = min(acc[0], s), max(acc[1], f)
                acc[2][state] += 1
        for w, (s, f, counts) in by_worker.items():
            self.span(slug, w, s, f, counts)

    def drop_logs(self, t: _Task, map_index: int | None) -> None:
        """Forget the logs of a task run recorded again (its new entry has them all)."""
        dropped = len(self.logs.pop((t.slug, map_index), ()))
        if t.logs > dropped:   # some are in the index already
            dropped += self.db.execute("DELETE FROM logs WHERE run_id = ? AND slug = ? AND "
                                       "map_index IS ?", (self.run_id, t.slug, map_index)
                                       ).rowcount
        t.logs -= dropped

    def add_logs(self, t: _Task, map_index: int | None, records: Any) -> None:
        for rec in records or ():
            if not isinstance(rec, dict):
                continue
            if t.logs >= LOG_CAP:
                t.logs_dropped += 1
                continue
            t.logs += 1
            self.logs.setdefault((t.slug, map_index), []).append((
                self.run_id, t.slug, map_index, rec.get("created"), rec.get("levelno"),
                rec.get("name"), rec.get("msg"), rec.get("exc_text")))

    def span(self, slug: str, worker: str | None, started: Any, finished: Any,
             counts: Counter) -> None:
        started, finished = _num(started), _num(finished)
        if started is None or finished is None:
            return
        last = self.spans.get((slug, worker), _MISSING)
        if last is _MISSING:
            row = self.db.execute("SELECT * FROM spans WHERE run_id = ? AND slug = ? AND "
                                  "worker IS ? ORDER BY finished DESC LIMIT 1",
                                  (self.run_id, slug, worker)).fetchone()
            last = None if row is None else {**dict(row),
                                             "counts": Counter(json.loads(row["counts"]))}
        # merge runs close in time, into spans of at most 2 % of the run so far: a lane
        # keeps its batches apart, and 10^6 one-child nodes still make few spans
        elapsed = finished - (self.run["started"] or started)
        gap = max(0.05, 0.01 * elapsed)
        if last is not None and started - last["finished"] <= gap \
                and started >= last["started"] - gap \
                and max(finished, last["finished"]) - last["started"] <= max(0.02 * elapsed, 0.01):
            last["finished"] = max(last["finished"], finished)
            last["started"] = min(last["started"], started)
            last["n"] += sum(counts.values())
            last["counts"].update(counts)
        else:
            last = {"id": None, "slug": slug, "worker": worker, "started": started,
                    "finished": finished, "n": sum(counts.values()), "counts": counts}
        self.spans[(slug, worker)] = self.touched[id(last)] = last
        self.run["last_seen"] = max(self.run["last_seen"] or finished, finished)

    def flush(self) -> None:
        db, run_id = self.db, self.run_id
        task_runs = failed = 0
        rows = []
        failed_codes = [c for n, c in self.codes.items() if n in FAILED_STATES]
        for t in self.tasks.values():
            # finished ones: the task's own run (once recorded) and its children recorded
            task_runs += (t.own["state"] is not None) + len(t.kinds) - t.kinds.count(0)
            failed += (t.own["state"] in FAILED_STATES) + sum(map(t.kinds.count, failed_codes))
            if not t.dirty:
                continue
            counts = {self.names[c]: t.kinds.count(c) for c in sorted(set(t.kinds)) if c}
            if not t.kinds and t.own["state"] is not None:
                counts[t.own["state"]] = 1
            rows.append((run_id, t.slug, t.seq, t.own["name"], t.own["state"], t.own["message"],
                         t.own["attempts"], t.own["started"], t.own["finished"],
                         t.own["worker"], t.own["location"], len(t.kinds), json.dumps(counts),
                         bytes(t.kinds) or None,
                         array("Q", ((i << 16) | g for i, g in t.groups.items())).tobytes()
                         or None,
                         json.dumps(t.failures) if t.failures else None, t.logs,
                         t.logs_dropped, int(t.helper)))
        db.executemany("INSERT OR REPLACE INTO tasks VALUES "
                       "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO logs VALUES (?,?,?,?,?,?,?,?)",
                       itertools.chain.from_iterable(self.logs.values()))
        for s in self.touched.values():
            values = (run_id, s["slug"], s["worker"], s["started"], s["finished"], s["n"],
                      json.dumps(s["counts"]))
            if s["id"] is None:
                db.execute("INSERT INTO spans (run_id, slug, worker, started, finished, n, "
                           "counts) VALUES (?,?,?,?,?,?,?)", values)
            else:
                db.execute("UPDATE spans SET run_id=?, slug=?, worker=?, started=?, "
                           "finished=?, n=?, counts=? WHERE id = ?", (*values, s["id"]))
        r = self.run
        r.update(task_runs=task_runs, failed=failed)
        db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (r["run_id"], r["flow"], r["state"], r["ended"], r["message"],
                    r["executor"], r["parameters"], r["started"], r["finished"],
                    r["last_seen"], r["task_runs"], r["failed"], r["expected"],
                    r["dashboard"], r["pid"], r["host"], r["path"], r["size"], r["offset"]))


_MISSING = object()


def _sample(indexes: list[int], i: int) -> None:
    """Keep the ``SAMPLE`` smallest map indexes of a failure group.

    >>> xs = []
    >>> for i in [9, 3, 7]: _sample(xs, i)
    >>> xs
    [9, 3, 7]
    """
    if i in indexes:
        return
    if len(indexes) < SAMPLE:
        indexes.append(i)
    elif i < max(indexes):
        indexes[indexes.index(max(indexes))] = i


def _traceback(records: Any) -> str | None:
    """The traceback a task run logged (its last record with one), if any."""
    for rec in reversed(records or []):
        if isinstance(rec, dict) and rec.get("exc_text"):
            return rec["exc_text"]
    return None
