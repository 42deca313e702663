"""Run records and resume (issue 5).

Every flow run writes a msgpack record under ``$PREFECT_DASK_HOME/runs``;
``flow.run(resume=run_id | "last")`` re-runs only what did not succeed,
loading the checkpointed results of what did.  Executions are counted with the
conftest recorder (in-process executors) or a side-effect file (subprocesses).
Every test points ``PREFECT_DASK_HOME`` at its own ``tmp_path``.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import msgpack
import pytest

from prefect_dask import Flow, Parameter, task, triggers
from prefect_dask.errors import RunRecordError
from prefect_dask.store.records import find_run, list_runs, read_record, records_dir
from prefect_dask.results import CorruptResultError, LocalResult
from prefect_dask.states import Cached, Failed, Mapped, Success, TriggerFailed


def record_of() -> dict:
    """The newest run record."""
    runs = list_runs()
    assert runs, "no run record was written"
    return runs[0]


def by_name(record: dict) -> dict:
    return {t["name"]: t for t in record["tasks"].values()}


class Switch:
    """A flag tasks read to decide whether to fail (flipped between runs)."""

    def __init__(self, **flags: bool) -> None:
        self.__dict__.update(flags)


def pipeline(rec, switch, **flow_kwargs):
    """extract -> transform -> load (fails while ``switch.fail``) -> report; side: audit."""

    @task
    def extract(n):
        rec.add("extract")
        return list(range(n))

    @task
    def transform(xs):
        rec.add("transform")
        return [x * 10 for x in xs]

    @task
    def load(xs):
        rec.add("load")
        if switch.fail:
            raise RuntimeError("database is down")
        return sum(xs)

    @task
    def report(total):
        rec.add("report")
        return f"total={total}"

    @task
    def audit(n):
        rec.add("audit")
        return n

    with Flow("etl", **flow_kwargs) as flow:
        n = Parameter("n", default=3)
        loaded = load(transform(extract(n)))
        out = report(loaded)
        audit(n)
    return flow, out


# -- resume --------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["last", "run_id"])
def test_resume_reruns_only_the_failed_task_and_downstream(executor, rec, tmp_path, how):
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    first = flow.run(executor=executor, n=4)
    assert first.is_failed()
    failed_run = record_of()
    assert by_name(failed_run)["load"]["state"] == "Failed"
    assert by_name(failed_run)["report"]["state"] == "TriggerFailed"
    assert sorted(rec.items) == ["audit", "extract", "load", "transform"]

    switch.fail = False
    rec_before = len(rec.items)
    resumed = flow.run(executor=executor,
                       resume="last" if how == "last" else failed_run["run_id"])
    assert resumed.is_successful()
    assert resumed.result[out].result == "total=60"          # 10*(0+1+2+3), n=4 from the record
    assert sorted(rec.items[rec_before:]) == ["load", "report"]
    states = {t.name: s for t, s in resumed.result.items()}
    for name in ("extract", "transform", "audit"):
        assert isinstance(states[name], Cached), name
        assert failed_run["run_id"] in states[name].message
    assert states["transform"].result == [0, 10, 20, 30]
    assert type(states["load"]) is Success and type(states["report"]) is Success

    second = record_of()
    assert second["run_id"] != failed_run["run_id"] and second["state"] == "Success"
    assert second["parameters"] == {"n": 4}


def test_resume_without_checkpoints_recomputes_the_successful_tasks(executor, rec):
    """Nothing was checkpointed, so there is nothing to load: everything runs again."""
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch)
    flow.run(executor=executor)
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.is_successful() and state.result[out].result == "total=30"
    assert rec.items.count("extract") == 2


def test_resume_with_checkpoint_true_on_some_tasks(executor, rec):
    """Only tasks that checkpointed are loaded; the rest of the successful ones recompute."""
    switch = Switch(fail=True)
    calls = {"a": 0, "b": 0, "c": 0}

    @task(checkpoint=True)
    def a():
        calls["a"] += 1
        return 1

    @task
    def b(x):
        calls["b"] += 1
        return x + 1

    @task
    def c(x):
        calls["c"] += 1
        if switch.fail:
            raise ValueError("c fails")
        return x + 1

    with Flow("partial-ckpt") as flow:
        out = c(b(a()))
    assert flow.run(executor=executor).is_failed()
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == 3
    assert calls == {"a": 1, "b": 2, "c": 2}


def test_resume_overrides_parameters(executor, rec, tmp_path):
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor, n=2)
    switch.fail = False
    state = flow.run(executor=executor, resume="last", parameters={"n": 2})
    assert state.result[out].result == "total=10"


def mapped_flow(rec, bad, tmp_path, **collect_options):
    @task
    def items():
        rec.add("items")
        return list(range(6))

    @task
    def work(x):
        rec.add(("work", x))
        if x in bad:
            raise ValueError(f"child {x} failed")
        return x * x

    @task(**collect_options)
    def collect(xs):
        rec.add("collect")
        return [x for x in xs if not isinstance(x, Exception)]

    with Flow("mapped-resume", result=LocalResult(tmp_path / "ckpt")) as flow:
        mapped = work.map(items())
        out = collect(mapped)
    return flow, mapped, out


def test_resume_a_mapped_task_reruns_only_failed_children(executor, rec, tmp_path):
    bad = {2, 4}
    flow, mapped, out = mapped_flow(rec, bad, tmp_path)
    first = flow.run(executor=executor)
    assert first.is_failed()
    assert [type(c).__name__ for c in first.result[mapped].map_states] == \
        ["Success", "Success", "Failed", "Success", "Failed", "Success"]
    assert isinstance(first.result[out], TriggerFailed)
    record = record_of()
    children = by_name(record)["work"]["children"]
    assert {i: c["state"] for i, c in children.items()} == \
        {0: "Success", 1: "Success", 2: "Failed", 3: "Success", 4: "Failed", 5: "Success"}
    assert "child 2 failed" in children[2]["message"]
    assert all(children[i]["location"] for i in (0, 1, 3, 5))

    bad.clear()
    mark = len(rec.items)
    resumed = flow.run(executor=executor, resume=record["run_id"])
    assert resumed.is_successful()
    again = rec.items[mark:]
    assert sorted(again, key=str) == [("work", 2), ("work", 4), "collect"]
    ms = resumed.result[mapped]
    assert isinstance(ms, Mapped) and ms.result == [0, 1, 4, 9, 16, 25]
    assert [type(c).__name__ for c in ms.map_states] == \
        ["Cached", "Cached", "Success", "Cached", "Success", "Cached"]
    assert resumed.result[out].result == [0, 1, 4, 9, 16, 25]


def test_resume_recomputes_a_successful_task_downstream_of_a_rerun(executor, rec, tmp_path):
    bad = {2, 4}
    flow, mapped, out = mapped_flow(rec, bad, tmp_path, trigger=triggers.all_finished)
    first = flow.run(executor=executor)
    assert first.result[out].result == [0, 1, 9, 25]        # it ran over the failed children
    bad.clear()
    resumed = flow.run(executor=executor, resume="last")
    assert resumed.result[mapped].result == [0, 1, 4, 9, 16, 25]
    assert resumed.result[out].result == [0, 1, 4, 9, 16, 25]   # observed: [0, 1, 9, 25]
    assert rec.items.count("collect") == 2


def test_resume_a_flow_failing_in_a_mapped_task(executor, rec, tmp_path):
    """The failing children fail the flow (their task is a terminal task); resume fixes it."""
    fail = {"on": True}

    @task
    def inc(x):
        rec.add(("inc", x))
        return x + 1

    @task
    def check(x):
        rec.add(("check", x))
        if fail["on"] and x == 3:
            raise ValueError("three")
        return x

    with Flow("mapped-fail", result=LocalResult(tmp_path / "ckpt")) as flow:
        out = check.map(inc.map([0, 1, 2, 3]))
    assert flow.run(executor=executor).is_failed()
    fail["on"] = False
    mark = len(rec.items)
    state = flow.run(executor=executor, resume="last")
    assert state.is_successful() and state.result[out].result == [1, 2, 3, 4]
    assert rec.items[mark:] == [("check", 3)]


def test_resume_after_a_run_that_hit_a_target(executor, rec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # the relative location is looked up here
    fail = {"on": True}

    @task(target="a.pkl")
    def a():
        rec.add("a")
        return 1

    @task
    def c(x):
        rec.add("c")
        if fail["on"]:
            raise ValueError("c fails")
        return x + 1

    with Flow("target-resume", result=LocalResult(tmp_path / "store")) as flow:
        out = c(a())
    flow.run(executor=executor)
    second = flow.run(executor=executor)                 # a: Cached from its target
    assert isinstance(second.result[flow.get_tasks(name="a")[0]], Cached)
    fail["on"] = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == 2
    assert rec.items == ["a", "c", "c", "c"]


def test_resume_unknown_run_id_lists_recent_runs(executor, rec, tmp_path):
    flow, _ = pipeline(rec, Switch(fail=False))
    flow.run(executor=executor)
    known = record_of()["run_id"]
    with pytest.raises(RunRecordError) as info:
        flow.run(executor=executor, resume="no-such-run")
    msg = str(info.value)
    assert "'no-such-run'" in msg and "Recent runs" in msg and known in msg and "etl" in msg


def test_resume_a_run_of_another_flow_names_the_flow(executor, rec):
    flow, _ = pipeline(rec, Switch(fail=False))
    flow.run(executor=executor)
    etl_run = record_of()["run_id"]

    @task
    def other():
        return 1

    with Flow("other-flow") as other_flow:
        other()
    with pytest.raises(RunRecordError) as info:
        other_flow.run(executor=executor, resume=etl_run)
    msg = str(info.value)
    assert etl_run in msg and "'etl'" in msg and "'other-flow'" in msg


def test_resume_last_without_any_run_of_this_flow(executor, rec):
    flow, _ = pipeline(rec, Switch(fail=False))
    flow.run(executor=executor)                    # a run of "etl" exists

    @task
    def other():
        return 1

    with Flow("never-ran") as other_flow:
        other()
    with pytest.raises(RunRecordError, match="never-ran"):
        other_flow.run(executor=executor, resume="last")


def test_resume_last_picks_the_newest_run_of_this_flow(executor, rec, tmp_path):
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor, n=5)
    time.sleep(0.02)

    @task
    def other():
        return 1

    with Flow("newer-other") as other_flow:
        other()
    other_flow.run(executor=executor)              # newer, but of another flow
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == "total=100"


def test_resume_with_a_corrupted_checkpoint_is_refused(executor, rec, tmp_path):
    marker = tmp_path / "marker"
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor)
    loc = by_name(record_of())["transform"]["location"]
    Path(loc).write_bytes(b"PDR2" + b"\0" * 32 + b"pckl" + pickle.dumps(_Evil(marker)))
    switch.fail = False
    mark = len(rec.items)
    with pytest.raises(CorruptResultError) as info:
        flow.run(executor=executor, resume="last")
    assert loc in str(info.value)
    assert not marker.exists()
    assert rec.items[mark:] == []                  # refused before anything ran


def test_resume_corrupted_checkpoint_error_names_the_task(executor, rec, tmp_path):
    switch = Switch(fail=True)
    flow, _ = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor)
    loc = by_name(record_of())["transform"]["location"]
    Path(loc).write_bytes(b"garbage")
    with pytest.raises(CorruptResultError, match="'transform'"):   # the path alone has no quotes
        flow.run(executor=executor, resume="last")


def test_resume_with_a_deleted_checkpoint_recomputes_that_task(executor, rec, tmp_path):
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor)
    Path(by_name(record_of())["transform"]["location"]).unlink()
    switch.fail = False
    mark = len(rec.items)
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == "total=30"
    assert sorted(rec.items[mark:]) == ["load", "report", "transform"]


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_prefect1_task_states(executor, rec):
    """Prefect 1: ``flow.run(task_states={task: State})``: given tasks do not run."""
    switch = Switch(fail=False)
    flow, out = pipeline(rec, switch)
    transform = flow.get_tasks(name="transform")[0]
    state = flow.run(executor=executor, task_states={transform: Success(result=[5, 6])})
    assert state.result[out].result == "total=11"
    assert "transform" not in rec.items and "extract" in rec.items
    assert state.result[transform].result == [5, 6]


def test_prefect1_task_states_with_a_failed_state(executor, rec):
    flow, out = pipeline(rec, Switch(fail=False))
    load = flow.get_tasks(name="load")[0]
    state = flow.run(executor=executor, task_states={load: Failed("given", result=None)})
    assert state.is_failed()
    assert isinstance(state.result[out], TriggerFailed)
    assert "load" not in rec.items and "report" not in rec.items


# -- run records ----------------------------------------------------------------------

def test_every_run_writes_a_record(executor, rec, home):
    flow, _ = pipeline(rec, Switch(fail=False))
    ids = set()
    for n in (1, 2, 3):
        flow.run(executor=executor, n=n)
        ids.add(record_of()["run_id"])
    files = sorted(records_dir().glob("*.msgpack"))
    assert len(files) == 3 and {f.stem for f in files} == ids
    assert records_dir() == home / "runs"
    for f in files:
        assert f.stat().st_mode & 0o077 == 0
    assert [r["parameters"]["n"] for r in list_runs()] == [3, 2, 1]   # newest first


def test_read_record_fields(executor, rec, tmp_path):
    attempts = {"n": 0}

    @task(max_retries=2, retry_delay=0)
    def flaky():
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise ValueError("not yet")
        return "ok"

    @task(checkpoint=True)
    def child(x):
        if x == 1:
            raise KeyError("one")
        return x

    @task
    def broken():
        raise RuntimeError("kaputt")

    with Flow("recorded") as flow:
        day = Parameter("day", default="mon")
        flaky()
        child.map([0, 1, 2])
        broken()
        flow.add_task(day)
    started = time.time()
    state = flow.run(executor=executor, day="tue")
    record = record_of()
    assert record["flow"] == "recorded"
    assert record["parameters"] == {"day": "tue"}
    assert record["state"] == "Failed" and record["message"] == state.message
    assert started <= record["started"] <= record["finished"] <= time.time()
    assert "Executor" in record["executor"] or "executor" in record["executor"].lower()
    tasks = by_name(record)
    assert tasks["flaky"]["state"] == "Success" and tasks["flaky"]["attempts"] == 3
    assert tasks["flaky"]["started"] <= tasks["flaky"]["finished"]
    assert tasks["broken"]["state"] == "Failed" and "kaputt" in tasks["broken"]["message"]
    assert tasks["day"]["state"] == "Success"
    assert tasks["child"]["state"] == "Mapped"
    kids = tasks["child"]["children"]
    assert sorted(kids) == [0, 1, 2]
    assert [kids[i]["state"] for i in range(3)] == ["Success", "Failed", "Success"]
    assert "one" in kids[1]["message"] and kids[0]["message"] in (None, "Task run succeeded.")
    assert all(kids[i]["attempts"] == 1 for i in range(3))
    assert kids[0]["location"] and Path(kids[0]["location"]).is_file()
    assert kids[1]["location"] is None
    assert kids[2]["location"] != kids[0]["location"]


def test_record_with_a_torn_last_entry_still_reads(executor, rec):
    flow, _ = pipeline(rec, Switch(fail=False))
    flow.run(executor=executor)
    path = Path(record_of()["path"])
    whole = read_record(path)
    data = path.read_bytes()
    path.write_bytes(data[:-7])                 # the "end" entry torn in half
    torn = read_record(path)
    assert torn["run_id"] == whole["run_id"] and torn["state"] is None
    assert torn["tasks"] == whole["tasks"]
    path.write_bytes(data + b"\x85\xa4kind")   # a started, unfinished next entry
    assert read_record(path)["state"] == "Success"


@pytest.mark.parametrize("how", ["run id", "last"])
def test_record_of_a_killed_driver_is_readable_and_resumable(tmp_path, home, how):
    """A driver killed mid-run (os._exit) leaves a record of what finished; resume finishes it
    (``resume="last"`` finds the killed run, newer than a finished one)."""
    script = tmp_path / "killed.py"
    side = tmp_path / "side.txt"
    script.write_text(textwrap.dedent(f'''
        import os, sys
        from prefect_dask import Flow, task
        from prefect_dask.results import LocalResult

        SIDE = {str(side)!r}

        def note(what):
            with open(SIDE, "a") as fh:
                fh.write(what + "\\n")

        @task
        def first():
            note("first")
            return 20

        @task
        def second(x):
            note("second")
            if sys.argv[1] == "die":
                os._exit(3)       # the driver dies mid-run (local executor: same process)
            return x + 1

        @task
        def third(x):
            note("third")
            return x * 2

        with Flow("killed", result=LocalResult({str(tmp_path / "ckpt")!r})) as flow:
            out = third(second(first()))

        if __name__ == "__main__":
            state = flow.run(resume=sys.argv[2] if sys.argv[1] == "resume" else None)
            print(state.result[out].result)
    '''))
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    if how == "last":   # an earlier run that finished
        proc = subprocess.run([sys.executable, str(script), "finish"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout.strip() == "42", proc.stderr
        side.unlink()
    proc = subprocess.run([sys.executable, str(script), "die"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    record = record_of()
    assert record["state"] is None and record["finished"] is None        # no end entry
    assert by_name(record)["first"]["state"] == "Success"
    assert "third" not in by_name(record)
    proc = subprocess.run([sys.executable, str(script), "resume",
                           record["run_id"] if how == "run id" else "last"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "42"
    assert side.read_text().splitlines() == ["first", "second", "second", "third"]


def test_crafted_record_cannot_run_code(tmp_path, home, executor, rec):
    """Records are msgpack, never pickle: pickles and ext types inside stay inert bytes."""
    marker = tmp_path / "marker"
    evil = pickle.dumps(_Evil(marker))
    folder = home / "runs"
    folder.mkdir(parents=True)
    path = folder / "crafted.msgpack"
    entries = [
        {"kind": "start", "run_id": "crafted", "flow": "etl", "parameters": {"n": evil},
         "executor": msgpack.ExtType(42, evil), "started": time.time()},
        {"kind": "task", "slug": "transform-1", "name": "transform", "state": "Success",
         "message": evil, "attempts": 1, "started": 0.0, "finished": 1.0, "location": None},
        {"kind": "task", "slug": "__reduce__", "name": msgpack.ExtType(1, evil),
         "state": "Failed"},
        {"kind": "end", "state": "Failed", "message": None, "finished": time.time()},
    ]
    path.write_bytes(b"".join(msgpack.packb(e, use_bin_type=True) for e in entries))
    record = read_record(path)
    assert record["parameters"] == {"n": evil}             # plain bytes, not unpickled
    assert record["tasks"]["transform-1"]["message"] == evil
    assert not marker.exists()
    assert find_run("crafted")["flow"] == "etl"
    assert any(r["run_id"] == "crafted" for r in list_runs())
    assert not marker.exists()


def test_crafted_record_pointing_at_an_evil_file_is_refused_on_resume(tmp_path, home, executor,
                                                                      rec):
    """A record whose location names a pickle file that is not a valid result: never loaded."""
    marker = tmp_path / "marker"
    evil_file = tmp_path / "evil.pkl"
    evil_file.write_bytes(pickle.dumps(_Evil(marker)))
    flow, out = pipeline(rec, Switch(fail=False))
    flow.run(executor=executor)
    real = record_of()
    slug = next(s for s, t in real["tasks"].items() if t["name"] == "transform")
    folder = home / "runs"
    # The real run's record, with transform's checkpoint swapped for the evil file.
    entries = [{"kind": "start", "run_id": "crafted2", "flow": "etl",
                "parameters": real["parameters"], "executor": "x", "started": time.time()}]
    for s, t in real["tasks"].items():
        entries.append({"kind": "task", "slug": s, "name": t["name"], "state": t["state"],
                        "message": None, "attempts": 1, "started": 0.0, "finished": 1.0,
                        "location": str(evil_file) if s == slug else t.get("location")})
    entries.append({"kind": "end", "state": "Failed", "message": None, "finished": time.time()})
    (folder / "crafted2.msgpack").write_bytes(
        b"".join(msgpack.packb(e, use_bin_type=True) for e in entries))
    # Either the file is refused (when everything upstream of it is reused) or it is not
    # read at all (here extract has no checkpoint, so transform runs again): never unpickled.
    try:
        flow.run(executor=executor, resume="crafted2")
    except CorruptResultError as exc:
        assert "evil.pkl" in str(exc)
    assert not marker.exists()


def test_crafted_record_with_a_valid_unsigned_file_is_refused_when_a_key_is_set(
        tmp_path, home, executor, rec, monkeypatch):
    """With ``PREFECT_DASK_RESULT_KEY`` set, whoever can write records cannot make us unpickle."""
    import hashlib

    monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "team-secret")
    marker = tmp_path / "marker"
    body = b"pckl" + pickle.dumps(_Evil(marker))
    forged = tmp_path / "forged.pkl"
    forged.write_bytes(b"PDR2" + hashlib.sha256(body).digest() + body)   # a valid plain file
    flow, out = pipeline(rec, Switch(fail=False), result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor)
    slug = next(s for s, t in record_of()["tasks"].items() if t["name"] == "extract")
    entries = [
        {"kind": "start", "run_id": "forged", "flow": "etl", "parameters": {"n": 3},
         "executor": "x", "started": time.time()},
        {"kind": "task", "slug": slug, "name": "extract", "state": "Success", "message": None,
         "attempts": 1, "started": 0.0, "finished": 1.0, "location": str(forged)},
    ]
    (home / "runs" / "forged.msgpack").write_bytes(
        b"".join(msgpack.packb(e, use_bin_type=True) for e in entries))
    with pytest.raises(CorruptResultError, match="forged.pkl"):
        flow.run(executor=executor, resume="forged")
    assert not marker.exists()


def test_resume_with_the_result_key_in_the_environment(executor, rec, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "team-secret")
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt"))
    flow.run(executor=executor)
    loc = by_name(record_of())["transform"]["location"]
    assert Path(loc).read_bytes()[:4] == b"PDH2"
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == "total=30" and rec.items.count("transform") == 1


def test_resume_with_a_keyed_local_result(executor, rec, tmp_path):
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=LocalResult(tmp_path / "ckpt", key="k"))
    flow.run(executor=executor)
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == "total=30" and rec.items.count("transform") == 1


def test_resume_from_an_fsspec_memory_store(executor, rec):
    import uuid

    import fsspec

    from prefect_dask.results import Result

    url = f"memory://resume-{uuid.uuid4().hex}"
    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch, result=Result(url))
    flow.run(executor=executor)
    assert by_name(record_of())["transform"]["location"].startswith(url)
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == "total=30" and rec.items.count("transform") == 1
    fsspec.filesystem("memory").rm(url, recursive=True)


def test_not_a_record_is_an_error(home):
    folder = home / "runs"
    folder.mkdir(parents=True)
    (folder / "junk.msgpack").write_bytes(os.urandom(64))
    (folder / "listkey.msgpack").write_bytes(b"\x81\x91\x01\x02")   # {[1]: 2}: unhashable key
    (folder / "empty.msgpack").write_bytes(b"")
    with pytest.raises(RunRecordError, match="not a prefect_dask run record"):
        read_record(folder / "empty.msgpack")
    assert list_runs() == [] or all(r["run_id"] for r in list_runs())


# -- checkpoints the record never heard of (a driver killed inside a node) -----------------

KILLED_INSIDE_NODES = textwrap.dedent('''
    import os, sys
    from prefect_dask import Flow, task, unmapped
    from prefect_dask.results import LocalResult

    side, ckpt, die_at = sys.argv[1], sys.argv[2], sys.argv[3]

    def note(what):
        with open(side, "a") as fh:
            fh.write(what + "\\n")
        if what == die_at:
            os._exit(3)      # the driver dies mid-node (local executor: tasks run in it)

    @task(map_batch_size=12)
    def first(i):
        note(f"first {i}")
        return i

    @task(map_batch_size=12)
    def second(x):
        note(f"second {x}")
        return 10 * x

    @task
    def single(k):
        note(f"single {k}")
        return k

    @task
    def total(xs, singles):
        note("total")
        return sum(xs) + sum(singles)

    with Flow("killed-inside-nodes", result=LocalResult(ckpt)) as flow:
        singles = [single(k) for k in range(4)]
        # the singles run before any child (an ordering edge): the first run dies in them
        children = first.map(list(range(12)), upstream_tasks=[unmapped(k) for k in singles])
        out = total(second.map(children), singles)

    if __name__ == "__main__":
        state = flow.run(resume=None if sys.argv[4] == "run" else "last", progress=False)
        print(type(state).__name__, state.result[out].result)
''')


def test_resume_finds_checkpoints_the_killed_run_did_not_record(tmp_path, home):
    """The driver dies inside a batch of mapped children (twice: the resumed run dies too)
    and inside a group node of single tasks: each resume reuses every checkpoint written,
    recorded or not, the earlier runs' included; only the task runs that were running
    when the driver died run again."""
    script, side = tmp_path / "killed.py", tmp_path / "side.txt"
    script.write_text(KILLED_INSIDE_NODES)
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}

    def run(die_at: str, mode: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), str(side), str(tmp_path / "ckpt"),
                               die_at, mode], env=env, capture_output=True, text=True,
                              timeout=60)

    assert run("single 2", "run").returncode == 3            # inside a group node
    assert run("second 7", "resume").returncode == 3         # inside a batch
    killed = record_of()
    assert killed["state"] is None and by_name(killed).get("second", {}).get("children",
                                                                            {}) == {}
    assert run("second 10", "resume").returncode == 3        # the next resumed run too
    done = run("", "resume")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["Success", str(10 * sum(range(12)) + sum(range(4)))]
    ran = side.read_text().splitlines()
    assert sorted(ran) == sorted([f"first {i}" for i in range(12)]
                                 + [f"second {i}" for i in range(12)] + ["second 7", "second 10"]
                                 + [f"single {k}" for k in range(4)] + ["single 2", "total"])
    assert len(list_runs()) == 4


def _forget_finished_nodes(record: dict) -> None:
    """Rewrite a run's record as if its driver died before any node ended."""
    path = Path(record["path"])
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(path.read_bytes())
    path.write_bytes(b"".join(msgpack.packb(e, use_bin_type=True) for e in unpacker
                              if e["kind"] in ("start", "expect")))


def test_resume_finds_unrecorded_checkpoints_in_an_fsspec_store(executor, rec):
    import uuid

    import fsspec

    from prefect_dask.results import Result

    url = f"memory://unrecorded-{uuid.uuid4().hex}"

    @task
    def square(x):
        rec.add(("square", x))
        return x * x

    with Flow("unrecorded", result=Result(url)) as flow:
        out = square.map(list(range(5)))
    flow.run(executor=executor)
    _forget_finished_nodes(record_of())
    assert by_name(record_of()) == {}
    mark = len(rec.items)
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == [0, 1, 4, 9, 16]
    assert rec.items[mark:] == []
    assert {type(c) for c in state.result[out].map_states} == {Cached}
    fsspec.filesystem("memory").rm(url, recursive=True)


def test_resume_last_reads_one_record_among_many(executor, rec, monkeypatch):
    """The newest run of the flow is found from its pointer (runs/last/), not by reading
    every record: among many records of other flows and older runs, one is read."""
    import prefect_dask.store.records as records
    from prefect_dask.store.records import RunRecorder
    from prefect_dask.states import Success

    def fake_runs(flow_name, n):
        for i in range(n):
            with RunRecorder(f"{flow_name}-{i}", flow_name, {}, "local") as recorder:
                recorder.end(Success())

    switch = Switch(fail=True)
    flow, out = pipeline(rec, switch)
    fake_runs(flow.name, 50)            # older runs of this flow
    flow.run(executor=executor, n=5)    # the newest one: it failed
    newest = find_run("last", flow.name)["run_id"]
    fake_runs("another-flow", 250)      # newer runs of another flow
    reads = []
    real = records.read_record
    monkeypatch.setattr(records, "read_record", lambda path: reads.append(path) or real(path))
    switch.fail = False
    state = flow.run(executor=executor, resume="last")
    assert state.result[out].result == "total=100"
    assert len(reads) == 1 and str(reads[0]).endswith(f"{newest}.msgpack")
    assert len(list(records_dir().glob("*.msgpack"))) == 302
    # the pointed-to run's record gone (pruned): the newest one left is found by a scan
    (records_dir() / f"{find_run('last', flow.name)['run_id']}.msgpack").unlink()
    assert find_run("last", flow.name)["run_id"] == newest
