"""``prefect-dask bench`` and ``prefect_dask.benchmark`` (issue 7).

The command runs in a subprocess (``sys.executable -m prefect_dask.app.cli``) on a
small flow file written to ``tmp_path``, with ``PREFECT_DASK_HOME`` pointing
there too.  The tests check what a user relies on: the exit status, that the
printed table and the JSON have every executor, the records' shape, that
``--param`` reaches the flow (the mapped width changes the task-run count),
and clear errors.  They never assert timings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import prefect_dask
from prefect_dask import Flow, Parameter, task

CLI = [sys.executable, "-m", "prefect_dask.app.cli"]
EXECUTORS = ["local", "threads", "processes", "dask"]
REPEAT = 2

# Every record has (at least) these keys, from the CLI's JSON and from the Python API.
KEYS = {"flow", "executor", "repeat", "startup_s", "wall_s", "median_s", "min_s", "max_s",
        "task_runs", "task_runs_per_s", "driver_peak_rss_mib", "worker_rss_mib", "states"}

FLOW_FILE = '''
from prefect_dask import Flow, Parameter, task


@task
def numbers(n):
    return list(range(n))


@task
def square(x):
    return x * x


@task
def total(xs):
    return sum(xs)


with Flow("bench-demo") as flow:
    n = Parameter("n", default=2)
    out = total(square.map(numbers(n)))


with Flow("other") as other:      # a second flow: the command picks the one it is told
    total([1, 2])
'''


def task_runs_for(n: int) -> int:
    """Task runs of bench-demo with ``n``: Parameter, numbers, square's parent, its n
    children, total."""
    return 4 + n


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_DASK_HOME": str(cwd / "home")}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def check_record(record: dict, executor: str, repeat: int, task_runs: int) -> None:
    """The shape every record has (no timing is compared with anything but itself)."""
    assert KEYS <= set(record), sorted(KEYS - set(record))
    assert record["executor"] == executor
    assert record["flow"] == "bench-demo"
    assert record["repeat"] == repeat
    assert isinstance(record["wall_s"], list) and len(record["wall_s"]) == repeat
    assert all(isinstance(w, (int, float)) and w >= 0 for w in record["wall_s"])
    for key in ("startup_s", "median_s", "min_s", "max_s", "driver_peak_rss_mib"):
        assert isinstance(record[key], (int, float)) and record[key] >= 0, (key, record[key])
    assert record["min_s"] <= record["median_s"] <= record["max_s"]
    assert record["min_s"] == min(record["wall_s"]) and record["max_s"] == max(record["wall_s"])
    assert record["driver_peak_rss_mib"] > 0
    assert record["task_runs"] == task_runs
    assert isinstance(record["task_runs_per_s"], (int, float)) and record["task_runs_per_s"] > 0
    assert record["states"] == ["Success"] * repeat


# -- the whole command, once, on every executor -------------------------------------------

@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory):
    """``prefect-dask bench flows.py:flow`` on every executor with ``--param n=3``."""
    where = tmp_path_factory.mktemp("bench")
    (where / "flows.py").write_text(FLOW_FILE)
    proc = run_cli(["bench", "flows.py:flow", "--executors", ",".join(EXECUTORS),
                    "--repeat", str(REPEAT), "--param", "n=3", "--out", "r.json"], where)
    out = where / "r.json"
    data = json.loads(out.read_text()) if out.exists() else None
    return proc, data


def records_of(data: object) -> list[dict]:
    return data["records"] if isinstance(data, dict) else data  # type: ignore[index,return-value]


@pytest.mark.slow
def test_bench_exits_0_and_prints_every_executor(bench_run):
    proc, _ = bench_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout.splitlines()
    for name in EXECUTORS:
        assert any(line.split()[:1] == [name] for line in table), (name, proc.stdout)
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_bench_json_has_one_record_per_executor(bench_run):
    proc, data = bench_run
    assert data is not None, f"--out file not written; stderr:\n{proc.stderr[-3000:]}"
    records = records_of(data)
    assert [r["executor"] for r in records] == EXECUTORS
    for record in records:
        check_record(record, record["executor"], REPEAT, task_runs_for(3))


@pytest.mark.slow
def test_bench_param_reaches_the_flow(bench_run):
    """n=3 (not the default 2): three mapped children are counted on every executor."""
    _, data = bench_run
    assert {r["executor"]: r["task_runs"] for r in records_of(data)} == \
        {name: task_runs_for(3) for name in EXECUTORS}


@pytest.mark.slow
def test_bench_worker_rss_only_on_a_cluster(bench_run):
    _, data = bench_run
    by_name = {r["executor"]: r for r in records_of(data)}
    for name in ("local", "threads", "processes"):
        assert by_name[name]["worker_rss_mib"] is None, by_name[name]
    workers = by_name["dask"]["worker_rss_mib"]
    assert isinstance(workers, dict) and workers, workers
    assert all(isinstance(addr, str) and isinstance(mib, (int, float)) and mib > 0
               for addr, mib in workers.items()), workers


# -- errors ----------------------------------------------------------------------------

def test_bench_unknown_executor_names_the_known_ones(tmp_path):
    (tmp_path / "flows.py").write_text(FLOW_FILE)
    proc = run_cli(["bench", "flows.py:flow", "--executors", "local,nosuch", "--repeat", "1"],
                   tmp_path)
    assert proc.returncode != 0
    assert "nosuch" in proc.stderr
    for name in EXECUTORS:
        assert name in proc.stderr.split("nosuch", 1)[1], proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is not None,
                    reason="matplotlib is installed: --plot works")
def test_bench_plot_without_matplotlib_is_a_clear_error(tmp_path):
    (tmp_path / "flows.py").write_text(FLOW_FILE)
    proc = run_cli(["bench", "flows.py:flow", "--executors", "local", "--repeat", "1",
                    "--plot", "p.png"], tmp_path)
    assert proc.returncode != 0
    assert "matplotlib" in proc.stderr and "pip install" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "p.png").exists()


def test_bench_names_the_flow_it_loads(tmp_path):
    """``file.py:name`` picks that flow; an unknown name lists the file's flows."""
    (tmp_path / "flows.py").write_text(FLOW_FILE)
    proc = run_cli(["bench", "flows.py:nope", "--executors", "local", "--repeat", "1"],
                   tmp_path)
    assert proc.returncode != 0
    assert "flow" in proc.stderr and "other" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


# -- the Python API ----------------------------------------------------------------------

@task
def numbers(n):
    return list(range(n))


@task
def square(x):
    return x * x


@task
def total(xs):
    return sum(xs)


def demo_flow() -> Flow:
    with Flow("bench-demo") as flow:
        n = Parameter("n", default=2)
        total(square.map(numbers(n)))
    return flow


def test_benchmark_api_returns_the_same_records(capsys):
    records = prefect_dask.benchmark(demo_flow(), executors=["local", "threads"], repeat=2)
    assert isinstance(records, list) and [r["executor"] for r in records] == ["local", "threads"]
    for record in records:
        check_record(record, record["executor"], 2, task_runs_for(2))
        assert record["worker_rss_mib"] is None
    json.dumps(records)                          # plain data, as the CLI writes it
    err = capsys.readouterr().err                # progress goes to stderr while it runs
    assert "local" in err and "threads" in err


def test_benchmark_api_takes_parameters(capsys):
    records = prefect_dask.benchmark(demo_flow(), executors=["local"], repeat=1,
                                     parameters={"n": 5})
    assert [r["task_runs"] for r in records] == [task_runs_for(5)]


def test_benchmark_executor_that_cannot_start_is_a_clear_error(capsys):
    """A cluster that cannot be reached: an error naming the executor, not a traceback
    from deep inside Dask (the API raises it; the command prints it)."""
    import socket

    from prefect_dask.errors import ExecutorError
    from prefect_dask.executors import DaskExecutor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ExecutorError) as err:
        prefect_dask.benchmark(demo_flow(), executors=[DaskExecutor(address=address,
                                                                    connect_timeout=1)],
                               repeat=1)
    assert "could not start" in str(err.value) and address in str(err.value), str(err.value)


@pytest.mark.slow
def test_benchmark_api_and_command_give_the_same_keys(bench_run, capsys):
    _, data = bench_run
    api = prefect_dask.benchmark(demo_flow(), executors=["local"], repeat=1)
    assert {frozenset(r) for r in records_of(data)} == {frozenset(api[0])}


def test_bench_checks_names_before_running_the_file(tmp_path):
    (tmp_path / "flows.py").write_text("open('ran.txt', 'w').write('ran')\n" + FLOW_FILE)
    proc = run_cli(["bench", "flows.py:flow", "--executors", "Threads,nosuch", "--repeat", "1"],
                   tmp_path)
    assert proc.returncode == 2 and "unknown executor(s) 'nosuch'" in proc.stderr
    assert not (tmp_path / "ran.txt").exists()        # nothing ran, no cluster started


def test_bench_warms_up_records_the_machine_and_fails_on_a_failed_flow(tmp_path):
    (tmp_path / "flows.py").write_text(FLOW_FILE + '''
@task
def broken():
    raise RuntimeError("no")

with Flow("broken") as broken_flow:
    broken()
''')
    proc = run_cli(["bench", "flows.py:flow", "--executors", "THREADS", "--repeat", "1",
                    "--out", "ok.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "bench: threads warm-up: " in proc.stderr
    data = json.loads((tmp_path / "ok.json").read_text())
    assert data["records"][0]["warmup_s"] > 0 and len(data["records"][0]["wall_s"]) == 1
    env = data["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3])) and env["cpus"] >= 1
    assert env["dask"] and env["distributed"] and env["prefect_dask"] and env["platform"]
    proc = run_cli(["bench", "flows.py:broken_flow", "--executors", "local", "--repeat", "1"],
                   tmp_path)
    assert proc.returncode == 1
    assert "the flow did not succeed on local (Failed)" in proc.stderr


def test_table_script_reads_every_result_file():
    root = Path(__file__).resolve().parent.parent / "benchmarks"
    proc = subprocess.run([sys.executable, str(root / "table.py"),
                           *sorted(map(str, (root / "results").glob("*.json")))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "| map-1k | threads |" in proc.stdout and "### bench_history" in proc.stdout
