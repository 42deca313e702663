"""Run history (``prefect_dask.store.history``): the SQLite index over the run records.

Real flows write real records; some tests write records entry by entry (the
documented msgpack format) to make runs that are old, still running, killed,
re-recorded or numerous.  The index must say what the records say, however it
was built: incrementally while a run grows, from scratch when it is missing or
corrupt, and by several processes at once.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import msgpack
import pytest

from prefect_dask import Flow, get_logger, task
from prefect_dask.errors import RunRecordError
from prefect_dask.store.history import History


@task(max_retries=1)
def parse(x):
    get_logger().info("parsing %s", x)
    if x % 5 == 3:
        raise ValueError(f"bad record {x}")
    return x


@task
def total(xs):
    return sum(xs)


def etl(n):
    with Flow("etl") as flow:
        total(parse.map(list(range(n))))
    return flow


class Record:
    """A run record written entry by entry, as a driver writes it."""

    def __init__(self, home, run_id, flow="f", started=None, pid=None):
        (home / "runs").mkdir(parents=True, exist_ok=True)
        self.path = home / "runs" / f"{run_id}.msgpack"
        self.started = time.time() if started is None else started
        self.write({"kind": "start", "run_id": run_id, "flow": flow, "parameters": {"n": 1},
                    "executor": "LocalExecutor()", "started": self.started,
                    "pid": os.getpid() if pid is None else pid, "host": socket.gethostname()})

    def write(self, entry):
        with open(self.path, "ab") as fh:
            fh.write(msgpack.packb(entry, use_bin_type=True))

    def task(self, slug, state, message=None, t=0.0, logs=()):
        self.write({"kind": "task", "slug": slug, "name": slug, "map_index": None,
                    "state": state, "message": message, "attempts": 1,
                    "started": self.started + t, "finished": self.started + t + 0.01,
                    "location": None, "logs": list(logs), "worker": "w1"})

    def children(self, slug, offset, states, messages=None, t=0.0, workers=None, logs=None):
        n = len(states)
        self.write({"kind": "children", "slug": slug, "name": slug, "offset": offset,
                    "states": states, "messages": messages or {}, "attempts": [1] * n,
                    "started": [self.started + t + i * 1e-4 for i in range(n)],
                    "finished": [self.started + t + (i + 1) * 1e-4 for i in range(n)],
                    "locations": {}, "logs": logs or {}, "workers": workers or ["w1"] * n})

    def end(self, state="Success"):
        self.write({"kind": "end", "state": state, "message": None,
                    "finished": self.started + 1.0})


def test_the_index_says_what_a_real_run_did(home, executor):
    state = etl(20).run(executor=executor)
    h = History()
    [run] = h.runs()
    assert run["flow"] == "etl" and run["state"] == "Failed" and run["ended"]
    assert run["task_runs"] == 23 and run["failed"] == 4 + 1     # 4 children and `total`
    assert run["duration"] > 0 and run["executor"]
    assert h.run("last") == run == h.run(run["run_id"][:8])
    tasks = {t["name"]: t for t in h.tasks(run["run_id"])}
    assert tasks["parse"]["state"] == "Mapped" and tasks["parse"]["width"] == 20
    assert tasks["parse"]["counts"] == {"Success": 16, "Failed": 4}
    assert tasks["total"]["counts"] == {"TriggerFailed": 1}
    groups = h.failures(run["run_id"])
    assert [(g["name"], g["state"], g["exception"], g["n"]) for g in groups] == [
        ("parse", "Failed", "ValueError", 4), ("total", "TriggerFailed", None, 1)]
    assert groups[0]["map_indexes"] == [3, 8, 13, 18]
    assert "bad record" in groups[0]["message"]
    logs = h.logs(run["run_id"], task="parse")
    # each child logs once per attempt; the 4 failing ones ran twice
    assert sorted(r["message"] for r in logs if r["message"].startswith("parsing")) == \
        sorted(f"parsing {i}" for i in [*range(20), 3, 8, 13, 18])
    assert {r["map_index"] for r in logs} == {*range(20), None}     # None: the parent's lines
    assert [c["map_index"] for c in h.children(run["run_id"], "parse", "failed")] == \
        [3, 8, 13, 18]
    lanes = h.timeline(run["run_id"])["lanes"]
    spans = [s for lane in lanes for s in lane["spans"] if s["name"] == "parse"]
    assert sum(s["n"] for s in spans) == 20 and len(spans) <= 8
    assert state.is_failed()


def test_rebuilt_from_the_records_when_missing_or_corrupt(home):
    etl(10).run()
    etl(5).run()
    with History() as h:
        before = (h.runs(), [h.tasks(r["run_id"]) for r in h.runs()])
    (home / "history.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (home / f"history.sqlite{suffix}").unlink(missing_ok=True)
    with History() as h:
        assert (h.runs(), [h.tasks(r["run_id"]) for r in h.runs()]) == before
    (home / "history.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (home / f"history.sqlite{suffix}").unlink(missing_ok=True)
    with History() as h:
        assert (h.runs(), [h.tasks(r["run_id"]) for r in h.runs()]) == before


def test_a_run_is_seen_while_it_grows_and_when_it_ends(home):
    rec = Record(home, "run-a")
    h = History()
    assert h.run("run-a")["state"] == "Running"          # its driver (this process) lives
    rec.write({"kind": "expect", "n": 9})
    rec.children("m", 0, ["Success"] * 3 + ["Failed"], {3: "Error during execution of task: "
                                                       "KeyError('k')"})
    assert h.tasks("run-a")[0]["counts"] == {"Success": 3, "Failed": 1}
    rec.children("m", 4, ["Success"] * 4, t=0.001)
    rec.task("m", "Mapped")
    assert h.run("run-a")["task_runs"] == 9 and h.run("run-a")["failed"] == 1   # 8 + parent
    assert h.run("run-a")["expected"] == 9
    assert h.tasks("run-a")[0]["counts"] == {"Success": 7, "Failed": 1}
    # a torn entry (the writer is in the middle of it) is left for the next sync
    with open(rec.path, "ab") as fh:
        fh.write(msgpack.packb({"kind": "end", "state": "Failed"})[:5])
    assert not h.run("run-a")["ended"]
    with open(rec.path, "ab") as fh:
        fh.write(msgpack.packb({"kind": "end", "state": "Failed", "message": "x",
                                "finished": time.time()})[5:])
    run = h.run("run-a")
    assert run["ended"] and run["state"] == "Failed"


def test_a_run_whose_driver_died_is_crashed(home):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    rec = Record(home, "run-b", pid=int(dead))
    rec.children("m", 0, ["Success", "Crashed"])
    with History() as h:
        run = h.run("run-b")
        assert run["state"] == "Crashed" and not run["ended"] and run["failed"] == 1
        assert h.runs(state="crashed") == [run]


def test_children_recorded_again_count_once(home):
    rec = Record(home, "run-c")
    rec.children("m", 0, ["Crashed"] * 4, {i: "worker died" for i in range(4)},
                 logs={0: [{"msg": "first try", "levelno": 20, "name": "x"}]})
    rec.children("m", 0, ["Success", "Success", "Failed", "Success"],
                 {2: "Error during execution of task: ValueError('v')"},
                 logs={0: [{"msg": "second try", "levelno": 20, "name": "x"}]})
    rec.task("m", "Mapped")
    rec.end("Failed")
    with History() as h:
        assert h.tasks("run-c")[0]["counts"] == {"Success": 3, "Failed": 1}
        assert [(g["state"], g["n"]) for g in h.failures("run-c")] == [("Failed", 1)]
        assert [r["message"] for r in h.logs("run-c")] == ["second try"]
        assert h.run("run-c")["failed"] == 1 and h.run("run-c")["task_runs"] == 5


def test_ids_by_unique_prefix_or_last_and_errors_that_say_what_exists(home):
    Record(home, "abc-1", started=100.0).end()
    Record(home, "abd-2", flow="g", started=200.0).end()
    Record(home, "xyz-3", started=300.0).end()
    with History() as h:
        assert h.resolve("abc") == "abc-1" and h.resolve("x") == "xyz-3"
        assert h.resolve("last") == "xyz-3" and h.resolve("last", flow="g") == "abd-2"
        with pytest.raises(RunRecordError, match=r"prefix 'ab' is ambiguous: it starts "
                                                 r"abc-1, abd-2; give more characters"):
            h.resolve("ab")
        with pytest.raises(RunRecordError, match=r"No run 'nope' is recorded .* Recent runs: "
                                                 r"xyz-3 \(f\)"):
            h.resolve("nope")
        with pytest.raises(RunRecordError, match="No earlier run of flow 'zz'"):
            h.resolve("last", flow="zz")
        with pytest.raises(RunRecordError, match="is a run of flow 'g', not of 'f'"):
            h.run("abd", flow="f")


def test_thousands_of_runs_filtered_and_paged(home):
    now = time.time()
    for i in range(2000):
        rec = Record(home, f"run-{i:05d}", flow=f"flow{i % 3}", started=now - 10 * i)
        rec.children("m", 0, ["Success"] * 50 + ["Failed"] * (i % 2))
        rec.end("Failed" if i % 2 else "Success")
    with History() as h:
        assert h.count() == 2000
        assert [r["run_id"] for r in h.runs(limit=3)] == ["run-00000", "run-00001", "run-00002"]
        assert [r["run_id"] for r in h.runs(limit=2, offset=10)] == ["run-00010", "run-00011"]
        assert h.count(flow="flow1") == 667 and h.count(state="failed") == 1000
        assert h.count(flow="flow1", state="Success") == 333
        assert {r["run_id"] for r in h.runs(since=now - 25, limit=None)} == \
            {"run-00000", "run-00001", "run-00002"}
        assert h.flows() == ["flow0", "flow1", "flow2"]
        # 51 children (the mapped parent's own entry was never written: not counted)
        assert h.run("run-00007")["failed"] == 1 and h.run("run-00007")["task_runs"] == 51
    # a new process sees the same index without reading the records again
    out = subprocess.run([sys.executable, "-c", "from prefect_dask.store.history import History;"
                          "print(History().count(flow='flow2'))"],
                         capture_output=True, text=True, env=os.environ.copy())
    assert out.stdout.strip() == "666", out.stderr


def test_a_million_children_stay_a_few_rows(home):
    rec = Record(home, "big")
    n = 250_000
    for j in range(4):   # four batches, on two workers, one failure each
        states = ["Success"] * n
        states[7] = "Failed"
        rec.children("m", j * n, states, {7: "Error during execution of task: OSError('x')"},
                     t=j * n * 1e-4, workers=[f"w{j % 2}"] * n)
    rec.task("m", "Mapped")
    rec.end("Failed")
    with History() as h:
        assert h.tasks("big")[0]["counts"] == {"Success": 4 * n - 4, "Failed": 4}
        [group] = h.failures("big")
        assert group["n"] == 4 and group["map_indexes"] == [7, n + 7, 2 * n + 7, 3 * n + 7]
        lanes = h.timeline("big")["lanes"]
        assert sum(len(lane["spans"]) for lane in lanes) <= 5     # and the parent's
        assert sum(s["n"] for lane in lanes for s in lane["spans"]) == 4 * n + 1
    assert (home / "history.sqlite").stat().st_size < 4 * n * 1.5   # a byte, not a row, per child


WRITER = textwrap.dedent('''
    import sys
    from prefect_dask import Flow, task
    from prefect_dask.store.history import History

    @task
    def inc(x):
        return x + 1

    with Flow(sys.argv[1]) as flow:
        inc.map(list(range(50)))

    for i in range(int(sys.argv[2])):
        flow.run(executor="threads", progress=False)
        History().runs(limit=5)        # read (and so index) while the others write
''')


@pytest.mark.slow
def test_several_processes_writing_one_home(home, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), f"flow{i}", "6"],
                              env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    with History() as h:
        runs = h.runs(limit=None)
        assert len(runs) == 24 and {r["flow"] for r in runs} == {f"flow{i}" for i in range(4)}
        assert all(r["state"] == "Success" and r["task_runs"] == 52 for r in runs)
        assert all(h.tasks(r["run_id"])[-1]["counts"] == {"Success": 50} for r in runs)


def test_prune_deletes_old_ended_runs_only(home):
    now = time.time()
    Record(home, "old", started=now - 10 * 86400).end()
    Record(home, "old-running", started=now - 10 * 86400)       # its driver still lives
    Record(home, "new", started=now).end()
    with History() as h:
        assert [r["run_id"] for r in h.prune(7 * 86400, dry_run=True)] == ["old"]
        assert (home / "runs" / "old.msgpack").exists()
        assert [r["run_id"] for r in h.prune(7 * 86400)] == ["old"]
        assert not (home / "runs" / "old.msgpack").exists()
        assert {r["run_id"] for r in h.runs()} == {"old-running", "new"}


def test_a_deleted_record_leaves_the_index(home):
    etl(3).run()
    with History() as h:
        [run] = h.runs()
        os.unlink(run["path"])
        assert h.runs() == [] and h.tasks(run["run_id"]) == []


def test_the_api_returns_json_ready_values(home):
    etl(6).run()
    with History() as h:
        run = h.run("last")
        json.dumps([run, h.tasks(run["run_id"]), h.failures(run["run_id"]),
                    h.logs(run["run_id"]), h.timeline(run["run_id"])])


def test_runs_show_of_a_run_that_goes_on(home, capsys):
    from prefect_dask.app.cli import main
    rec = Record(home, "live-run", flow="live")
    rec.write({"kind": "expect", "n": 11})
    rec.children("m", 0, ["Success"] * 4, t=0.0)
    assert main(["runs", "show", "live"]) == 0
    out = capsys.readouterr().out
    assert "of flow 'live': Running" in out and "not finished (" in out
    assert "  4 of 11 task runs so far, 0 did not succeed" in out
    assert re.search(r"\n  m +Running *\n      children: 4 Success", out)


def test_helper_tasks_are_left_out_of_every_task_listing(home, capsys, caplog):
    """The Constant a flow makes for a mapped list and the Parameter tasks are no tasks of
    the user's: the summary's timings, ``runs show``, the report and the UI leave them out
    (one predicate, task.is_helper); the parameters have their own line."""
    from prefect_dask import Parameter, unmapped
    from prefect_dask.app.cli import main
    from prefect_dask.app.report import html_report
    from prefect_dask.task import Constant, is_helper
    from prefect_dask.app.ui.data import run_view

    @task
    def scale(x, factor):
        return x * factor

    with Flow("helpers") as flow:
        factor = Parameter("factor", default=2)
        scaled = scale.map([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], factor=unmapped(factor))
    assert flow.run().is_successful()
    constant = next(t for t in flow.tasks if isinstance(t, Constant))
    assert constant.name == "Constant[list]" and is_helper(constant) and is_helper(factor)
    assert not is_helper(scaled)

    with History() as h:
        listed = [t["name"] for t in h.tasks(h.resolve("last"), helpers=False)]
        everything = {t["name"]: t["helper"] for t in h.tasks(h.resolve("last"))}
        view = run_view(h, "last")
        report = html_report(h, "last")
    assert listed == ["scale"]
    assert everything == {"factor": True, "Constant[list]": True, "scale": False}
    assert [t["name"] for t in view["tasks"]] == ["scale"]
    table = report[report.index("<th>task</th>"):]
    table = table[:table.index("</table>")]   # the report's task table
    assert "<td>scale</td>" in table and "Constant" not in table and "factor" not in table

    assert main(["runs", "show", "last"]) == 0
    shown = capsys.readouterr().out
    assert "parameters: {'factor': 2}" in shown
    rows = [line.split()[0] for line in shown.splitlines() if line.startswith("  ")
            and line.split()[0].startswith(("scale", "Constant", "factor"))]
    assert rows == ["scale-1"]


def _started_days_ago(record: str, days: float) -> None:
    """Rewrite a run record as if the run started ``days`` ago."""
    with open(record, "rb") as fh:
        entries = list(msgpack.Unpacker(fh, raw=False, strict_map_key=False))
    entries[0]["started"] = time.time() - days * 86400
    with open(record, "wb") as fh:
        for e in entries:
            fh.write(msgpack.packb(e, use_bin_type=True))


def test_prune_deletes_the_checkpoints_of_pruned_runs_only(home):
    """Pruned: old runs' checkpoint folders.  Kept: a kept run's, an old run's that a kept
    run resumed from (it reuses them), and a target= the user chose even in that layout."""
    from prefect_dask import unmapped

    @task(checkpoint=True)
    def double(x):
        return 2 * x

    @task(target="{flow_name}/{task_slug}/{flow_run_id}/mine.txt")
    def keep(xs):
        return sum(xs)

    with Flow("ckpt") as flow:
        doubled = double.map([1, 2, 3])
        keep(doubled)
    first = flow.run()
    assert first.is_successful()
    with History() as h:
        old_a = h.resolve("last")
    second = flow.run()
    with History() as h:
        old_b = h.resolve("last")
    flow.run(resume=old_a)     # reuses run A's checkpoints: A's folder must stay
    with History() as h:
        kept = h.resolve("last")
        assert {h.resolve(r) for r in (old_a, old_b, kept)} == {old_a, old_b, kept}
        paths = {r["run_id"]: r["path"] for r in h.runs()}
    for run_id in (old_a, old_b):
        _started_days_ago(paths[run_id], 30)
    for index in home.glob("history.sqlite*"):   # rebuilt from the records, as rewritten
        index.unlink()
    results = home / "results" / "ckpt"

    def files(run_id):
        return sorted(p.name for p in results.glob(f"*/{run_id}/*"))

    assert files(old_b) == ["0.pkl", "1.pkl", "2.pkl", "mine.txt"]
    assert files(old_a) == ["0.pkl", "1.pkl", "2.pkl", "mine.txt"]
    with History() as h:
        would = {r["run_id"]: r["checkpoints"] for r in h.prune(7 * 86400, dry_run=True)}
        assert would == {old_a: 0, old_b: 3} and files(old_b)[:1] == ["0.pkl"]
        gone = {r["run_id"]: r["checkpoints"] for r in h.prune(7 * 86400)}
    assert gone == {old_a: 0, old_b: 3}
    assert files(old_b) == ["mine.txt"]           # the user's target stays
    assert files(old_a) == ["0.pkl", "1.pkl", "2.pkl", "mine.txt"]
    assert not list(results.glob(f"double*/{old_b}"))   # its emptied folder went too
    assert flow.run(resume=kept).is_successful()     # the kept run still resumes
