"""Load tests (issue 8): many concurrent runs, many processes on one home, a huge map.

- 100 flow runs started at once from threads of one process: every run sees
  only its own Parameter value and context, returns its own results, and its log
  records and run record name only its own tasks.
- 10 processes running cached, checkpointed flows against one
  ``PREFECT_DASK_HOME`` at the same time: every run record, cache entry and
  result file reads back, and no temporary file is left behind.
- A 1,000,000-child map with per-child retries completes on threads with the
  right results, in a process whose peak RSS stays under 2 GiB.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from prefect_dask import Flow, Parameter, context, get_logger, task, unmapped
from prefect_dask.executors import LocalDaskExecutor, LocalExecutor
from prefect_dask.store.records import list_runs, read_record
from prefect_dask.results import read_value

N_RUNS = 100
GIB = 1 << 30


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _seen() -> dict:
    """What the running task sees of its run."""
    return {"flow": context.get("flow_name"), "task": context.get("task_name"),
            "n": context.get("parameters")["n"], "run": context.get("flow_run_id")}


@task
def numbers(n):
    get_logger().info("numbers n=%d", n)
    return [n * 10 + i for i in range(n % 5 + 1)]


@task
def double(x, n):
    get_logger().info("double n=%d x=%d", n, x)
    time.sleep(0.01)            # let the runs interleave
    return {"value": 2 * x, **_seen()}


@task
def total(parts, n):
    get_logger().info("total n=%d", n)
    return {"value": sum(p["value"] for p in parts), "parts": parts, **_seen()}


def _build(name: str, suffix: str) -> tuple[Flow, object]:
    with Flow(name) as flow:
        n = Parameter("n")
        xs = numbers(n, task_args={"name": f"numbers{suffix}"})
        ys = double.map(xs, n=unmapped(n), task_args={"name": f"double{suffix}"})
        out = total(ys, n, task_args={"name": f"total{suffix}"})
    return flow, out


def _check_total(state, out, flow_name: str, suffix: str, n: int) -> str:
    """The run's results are its own; returns its flow_run_id."""
    assert type(state).__name__ == "Success", state
    got = state.result[out].result
    xs = [n * 10 + i for i in range(n % 5 + 1)]
    assert got["value"] == sum(2 * x for x in xs)
    seen = [got, *got["parts"]]
    assert {(s["flow"], s["n"]) for s in seen} == {(flow_name, n)}
    assert got["task"] == f"total{suffix}"
    assert {p["task"] for p in got["parts"]} == {f"double{suffix}"}
    assert len({s["run"] for s in seen}) == 1
    return got["run"]


def test_100_concurrent_runs_from_threads_do_not_leak(caplog, _home):
    """Half the runs build their own flow in their thread; half share one Flow object."""
    caplog.set_level(logging.INFO, logger="prefect_dask")
    shared, shared_out = _build("shared", "")
    barrier = threading.Barrier(N_RUNS)
    outcome: dict[int, object] = {}

    def one(i: int) -> None:
        try:
            if i % 2:
                flow, out, name, suffix = *_build(f"load-{i}", f"-{i}"), f"load-{i}", f"-{i}"
            else:
                flow, out, name, suffix = shared, shared_out, "shared", ""
            executor = LocalExecutor() if i % 4 < 2 else LocalDaskExecutor(
                scheduler="threads", num_workers=2)
            barrier.wait(timeout=60)
            state = flow.run(parameters={"n": i}, executor=executor, progress=False)
            outcome[i] = _check_total(state, out, name, suffix, i)
        except BaseException as exc:  # reported below, with its run
            outcome[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(N_RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    errors = {i: o for i, o in outcome.items() if isinstance(o, BaseException)}
    assert not errors, errors
    assert len(outcome) == N_RUNS
    run_of = {run_id: i for i, run_id in outcome.items()}
    assert len(run_of) == N_RUNS                 # every run had its own flow_run_id

    # log records re-emitted on the driver: a per-run flow's records name its own tasks and n
    # (the engine's start/finish lines name the flow too; the Parameter "n" is in every flow)
    task_records = [r for r in caplog.records if getattr(r, "task_name", None)]
    assert task_records
    for r in task_records:
        assert r.flow_name is not None, r
        if r.flow_name != "shared" and r.task_name != "n":
            i = int(r.flow_name.split("-")[1])
            assert r.task_name.endswith(f"-{i}"), r
            if r.name != "prefect_dask.TaskRunner":
                assert f"n={i} " in r.getMessage() + " ", r

    # run records: one per run, naming only that run's tasks, parameter and log lines
    paths = sorted((_home / "runs").glob("*.msgpack"))
    assert len(paths) == N_RUNS
    for path in paths:
        record = read_record(path)
        i = run_of[record["run_id"]]
        assert record["parameters"] == {"n": i}
        assert record["state"] == "Success"
        suffix = "" if record["flow"] == "shared" else f"-{i}"
        assert record["flow"] == ("shared" if not suffix else f"load-{i}")
        names = {t["name"] for t in record["tasks"].values() if t.get("name")}
        assert names <= {"n", f"numbers{suffix}", f"double{suffix}", f"total{suffix}"}, names
        logs = [line for t in record["tasks"].values()
                for line in [*t.get("logs", []),
                             *(x for c in t["children"].values() for x in c.get("logs", []))]
                if line["name"] != "prefect_dask.TaskRunner"]    # the tasks' own lines
        assert len(logs) == 2 + i % 5 + 1          # numbers, each double, total
        for line in logs:
            assert f"n={i} " in line["msg"] + " ", line
            assert line["task_name"] in names and line["flow_name"] == record["flow"], line


# -- 10 processes, one home ------------------------------------------------------

WORKER = textwrap.dedent('''
    import json, sys
    from datetime import timedelta
    from prefect_dask import Flow, Parameter, task, cache_validators

    HOUR = timedelta(hours=1)

    @task(cache_for=HOUR, cache_validator=cache_validators.all_inputs)
    def square(x):
        return x * x

    @task(target="cubes/{x}.pkl")
    def cube(x):
        return x ** 3

    @task(cache_for=HOUR, cache_validator=cache_validators.all_inputs, checkpoint=True)
    def total(squares, cubes, k):
        return sum(squares) + sum(cubes) + k

    with Flow("shared-home") as flow:
        k = Parameter("k")
        xs = list(range(100))
        out = total(square.map(xs), cube.map(xs), k)

    me = int(sys.argv[1])
    results = []
    for rep in range(3):
        state = flow.run(parameters={"k": (me + rep) % 4}, executor="threads", progress=False)
        assert type(state).__name__ == "Success", state
        results.append(state.result[out].result)
    print(json.dumps(results))
''')


@pytest.mark.slow
def test_10_processes_share_one_home(tmp_path, _home):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PREFECT_DASK_HOME": str(_home), "PREFECT_DASK_LOGGING_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, str(script), str(i)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(10)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    base = sum(x * x + x ** 3 for x in range(100))
    for i, (out, _) in enumerate(outs):
        assert json.loads(out) == [base + (i + rep) % 4 for rep in range(3)]

    runs = sorted((_home / "runs").glob("*.msgpack"))
    assert len(runs) == 30
    assert len(list_runs()) == 30
    cached = 0
    for path in runs:
        record = read_record(path)
        assert record["state"] == "Success" and record["flow"] == "shared-home", record
        squares = [t for t in record["tasks"].values() if t.get("name") == "square"]
        assert len(squares) == 1 and len(squares[0]["children"]) == 100
        cached += sum(c["state"] == "Cached" for c in squares[0]["children"].values())
    assert cached >= 100        # later runs found the entries other processes wrote
    cache_files = [p for p in (_home / "cache").rglob("*") if p.is_file()]
    result_files = [p for p in (_home / "results").rglob("*") if p.is_file()]
    assert cache_files and len(result_files) >= 100
    for path in cache_files + result_files:
        read_value(path)        # raises if torn, truncated or not a result
    for x in range(100):
        assert read_value(_home / "results" / "cubes" / f"{x}.pkl") == x ** 3
    leftovers = [p for p in _home.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert not leftovers, leftovers


# -- a million children ----------------------------------------------------------

MILLION = textwrap.dedent('''
    import json, resource, sys
    from prefect_dask import Flow, context, task
    from prefect_dask.executors import LocalDaskExecutor

    N = int(sys.argv[1])

    @task(max_retries=1)
    def inc(x):
        if x % 100_000 == 0 and context.get("task_run_count") == 1:
            raise ValueError(f"first attempt of {x}")
        return x + 1

    @task
    def total(xs):
        return sum(xs)

    with Flow("million") as flow:
        children = inc.map(range(N))
        out = total(children)

    state = flow.run(executor=LocalDaskExecutor(scheduler="threads", num_workers=2),
                     progress=False)
    kids = state.result[children].map_states
    retried = [i for i, s in enumerate(kids) if s.attempts != 1]
    print(json.dumps({
        "flow": type(state).__name__,
        "total": state.result[out].result,
        "width": len(kids),
        "kinds": sorted({type(s).__name__ for s in kids}),
        "retried": retried,
        "retried_attempts": sorted({kids[i].attempts for i in retried}),
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))
''')


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_million_child_map_with_retries(tmp_path, _home):
    script = tmp_path / "million.py"
    script.write_text(MILLION)
    n = 1_000_000
    env = {**os.environ, "PREFECT_DASK_HOME": str(_home), "PREFECT_DASK_LOGGING_LEVEL": "WARNING"}
    proc = subprocess.run([sys.executable, str(script), str(n)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    assert got["flow"] == "Success"
    assert got["width"] == n and got["kinds"] == ["Success"]
    assert got["total"] == n * (n + 1) // 2
    assert got["retried"] == list(range(0, n, 100_000)) and got["retried_attempts"] == [2]
    assert got["peak_rss"] < 2 * GIB, f"peak RSS {got['peak_rss'] / GIB:.2f} GiB"
