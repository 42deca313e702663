"""The ``prefect-dask`` CLI (issue 5): run a flow from a file, list and show runs, resume.

Every command runs in a subprocess (``sys.executable -m prefect_dask.app.cli``)
with ``PREFECT_DASK_HOME`` pointing at the test's ``tmp_path``; the flow file
records each task execution in a side-effect file and fails while a flag file
exists, so a failed run can be fixed and resumed.  Exit codes: 0 success,
1 flow failed, 2 usage error (the CLI's docstring).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_helpers import takes_ctrl_c

FLOW_FILE = '''
import os
from prefect_dask import Flow, Parameter, task
from prefect_dask.results import LocalResult

HERE = os.path.dirname(os.path.abspath(__file__))
SIDE = os.path.join(HERE, "side.txt")
FLAG = os.path.join(HERE, "fail.flag")


def note(line):
    with open(SIDE, "a") as fh:
        fh.write(line + "\\n")


@task
def extract(n):
    note(f"extract {n!r} {type(n).__name__}")
    return list(range(n))


@task
def transform(xs):
    note("transform")
    return [x + 1 for x in xs]


@task
def load(xs):
    note("load")
    if os.path.exists(FLAG):
        raise RuntimeError("warehouse unavailable")
    return sum(xs)


@task
def square(x):
    note(f"square {x}")
    if os.path.exists(FLAG) and x == 2:
        raise ValueError("two is unlucky")
    return x * x


with Flow("cli-etl", result=LocalResult(os.path.join(HERE, "ckpt"))) as etl:
    n = Parameter("n", default=3)
    total = load(transform(extract(n)))
    squares = square.map(transform(extract(n)))

with Flow("cli-other") as other:
    extract(Parameter("n", default=1))
'''


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("PREFECT_DASK_HOME", str(home))
    monkeypatch.delenv("PREFECT_DASK_RESULT_KEY", raising=False)
    return {**os.environ, "PREFECT_DASK_HOME": str(home)}


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "flows.py").write_text(FLOW_FILE)
    return folder


def cli(env, *args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "prefect_dask.app.cli", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=60, cwd=cwd)
    return proc


def side(project) -> list[str]:
    path = project / "side.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def run_ids(listing: str) -> list[str]:
    """The (short) run ids of a ``runs list``."""
    return re.findall(r"^([0-9a-f]{8})\s", listing, re.M)


def test_run_success_exit_0_with_json_params(env, project):
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", "--param", "n=4")
    assert proc.returncode == 0, proc.stderr
    assert "Flow run Success" in proc.stdout
    assert side(project).count("extract 4 int") == 2        # JSON-parsed: an int


def test_run_failure_exit_1(env, project):
    (project / "fail.flag").touch()
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", "--executor", "threads")
    assert proc.returncode == 1, proc.stderr
    assert "Flow run Failed" in proc.stdout


def test_run_text_param_and_unknown_param(env, project):
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", "--param", "n=abc")
    assert proc.returncode == 1                   # "abc" is text: range("abc") fails the flow
    assert side(project)[0] == "extract 'abc' str"
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", "--param", "m=1")
    assert proc.returncode == 2
    assert "'m'" in proc.stderr and "n" in proc.stderr


def test_run_errors_name_the_fix(env, project):
    proc = cli(env, "run", f"{project / 'flows.py'}")
    assert proc.returncode != 0
    assert "2 flows" in proc.stderr and "cli-etl" not in proc.stderr
    assert "etl" in proc.stderr and "other" in proc.stderr
    proc = cli(env, "run", f"{project / 'flows.py'}:nope")
    assert proc.returncode != 0 and "'nope'" in proc.stderr and "etl, other" in proc.stderr
    proc = cli(env, "run", f"{project / 'missing.py'}:etl")
    assert proc.returncode != 0 and "no such file" in proc.stderr
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", "--param", "novalue")
    assert proc.returncode != 0 and "name=value" in proc.stderr


@pytest.mark.parametrize("args", [["flows.py"], ["flows.py:nope"], ["missing.py:etl"],
                                  ["flows.py:etl", "--param", "novalue"]],
                         ids=["two-flows", "unknown-flow", "missing-file", "bad-param"])
def test_usage_errors_exit_2(env, project, args):
    proc = cli(env, "run", *args, cwd=project)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)


def test_runs_list(env, project):
    proc = cli(env, "runs", "list")
    assert proc.returncode == 0 and "No runs recorded yet." in proc.stdout
    assert cli(env, "run", f"{project / 'flows.py'}:other").returncode == 0
    (project / "fail.flag").touch()
    assert cli(env, "run", f"{project / 'flows.py'}:etl").returncode == 1
    proc = cli(env, "runs", "list")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["RUN", "FLOW", "STATE", "STARTED", "TOOK", "EXECUTOR", "TASKS",
                                "FAILED"]
    ids = run_ids(proc.stdout)
    assert len(ids) == 2
    assert "cli-etl" in lines[1] and "Failed" in lines[1]           # newest first
    assert "cli-other" in lines[2] and "Success" in lines[2]
    runs_dir = Path(env["PREFECT_DASK_HOME"]) / "runs"
    assert sorted(p.stem[:8] for p in runs_dir.glob("*.msgpack")) == sorted(ids)
    assert lines[1].split()[-3:] == ["local", "10", "2"]     # executor, task runs, failed
    proc = cli(env, "runs", "list", "--limit", "1")
    assert run_ids(proc.stdout) == ids[:1]


def test_runs_show_tasks_states_and_errors(env, project):
    (project / "fail.flag").touch()
    assert cli(env, "run", f"{project / 'flows.py'}:etl", "--param", "n=3").returncode == 1
    run_id = run_ids(cli(env, "runs", "list").stdout)[0]
    for which in (run_id, "last"):
        proc = cli(env, "runs", "show", which)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert run_id in out and "'cli-etl'" in out and "Failed" in out
        assert "{'n': 3}" in out
        rows = {line.split()[0]: line for line in out.splitlines()
                if line.startswith("  ") and line.split()[0].count("-") >= 1
                and line.split()[0].rsplit("-", 1)[-1].isdigit()}
        assert "Success" in rows["extract-1"] and "attempts=1" in rows["extract-1"]
        assert re.search(r"\d+\.\d{3}s$", rows["extract-1"])       # its duration
        assert "Failed" in rows["load-1"]
        assert "warehouse unavailable" in out                 # the error message
        assert "Mapped" in rows["square-1"]
        assert "children: 1 Failed, 2 Success" in out
        assert "1 x Failed ValueError in square[1]:\n      Error during execution of task: " \
            "ValueError('two is unlucky')" in out


def test_runs_show_unknown_run(env, project):
    assert cli(env, "run", f"{project / 'flows.py'}:other").returncode == 0
    known = run_ids(cli(env, "runs", "list").stdout)[0]
    proc = cli(env, "runs", "show", "not-a-run")
    assert proc.returncode == 2
    assert "'not-a-run'" in proc.stderr and known in proc.stderr and "cli-other" in proc.stderr


def test_resume_completes_a_failed_run(env, project):
    flows = f"{project / 'flows.py'}:etl"
    (project / "fail.flag").touch()
    assert cli(env, "run", flows, "--param", "n=3").returncode == 1
    first = side(project)
    assert sorted(first) == sorted(["extract 3 int", "extract 3 int", "transform", "transform",
                                    "load", "square 1", "square 2", "square 3"])
    run_id = run_ids(cli(env, "runs", "list").stdout)[0]
    (project / "fail.flag").unlink()

    proc = cli(env, "resume", run_id, "--file", flows)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Flow run Success" in proc.stdout
    assert sorted(side(project)) == ["load", "square 2"]        # only what failed
    proc = cli(env, "runs", "show", "last")
    assert "Success" in proc.stdout.splitlines()[0]
    assert "{'n': 3}" in proc.stdout                             # parameters came from the record
    assert "children: 2 Cached, 1 Success" in proc.stdout


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_resume_last_on_other_executors(env, project, kind):
    flows = f"{project / 'flows.py'}:etl"
    (project / "fail.flag").touch()
    assert cli(env, "run", flows, "--executor", kind).returncode == 1
    side(project)
    (project / "fail.flag").unlink()
    proc = cli(env, "resume", "last", "--file", flows, "--executor", kind)
    assert proc.returncode == 0, proc.stderr
    assert sorted(side(project)) == ["load", "square 2"]


def test_resume_needs_the_flow_file_and_the_right_flow(env, project):
    (project / "fail.flag").touch()
    assert cli(env, "run", f"{project / 'flows.py'}:etl").returncode == 1
    run_id = run_ids(cli(env, "runs", "list").stdout)[0]
    proc = cli(env, "resume", run_id)
    assert proc.returncode != 0
    assert "--file" in proc.stderr and "cli-etl" in proc.stderr
    proc = cli(env, "resume", run_id, "--file", f"{project / 'flows.py'}:other")
    assert proc.returncode == 2
    assert "'cli-etl'" in proc.stderr and "'cli-other'" in proc.stderr
    proc = cli(env, "resume", "unknown-id", "--file", f"{project / 'flows.py'}:etl")
    assert proc.returncode == 2 and "'unknown-id'" in proc.stderr and run_id in proc.stderr


@pytest.mark.skipif(not (Path(sys.executable).parent / "prefect-dask").exists(),
                    reason="console script not installed next to this interpreter")
def test_console_script(env, project):
    script = Path(sys.executable).parent / "prefect-dask"
    proc = subprocess.run([str(script), "run", f"{project / 'flows.py'}:other"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(script), "--help"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    for command in ("run", "runs", "resume"):
        assert command in proc.stdout


def test_runs_list_filters_and_json(env, project):
    assert cli(env, "run", f"{project / 'flows.py'}:other").returncode == 0
    (project / "fail.flag").touch()
    assert cli(env, "run", f"{project / 'flows.py'}:etl").returncode == 1
    import json
    runs = json.loads(cli(env, "runs", "list", "--json").stdout)
    assert [(r["flow"], r["state"], r["failed"]) for r in runs] == [("cli-etl", "Failed", 2),
                                                                   ("cli-other", "Success", 0)]
    assert run_ids(cli(env, "runs", "list", "--state", "success").stdout) == \
        [runs[1]["run_id"][:8]]
    assert run_ids(cli(env, "runs", "list", "--flow", "cli-etl").stdout) == \
        [runs[0]["run_id"][:8]]
    assert "No recorded run matches." in cli(env, "runs", "list", "--since",
                                             "2999-01-01").stdout
    assert len(run_ids(cli(env, "runs", "list", "--since", "1h").stdout)) == 2
    proc = cli(env, "runs", "list", "--since", "yesterdayish")
    assert proc.returncode == 2 and "like 30m, 12h, 7d or 2w" in proc.stderr


def test_runs_logs_of_a_task_and_show_by_prefix(env, project):
    (project / "fail.flag").touch()
    assert cli(env, "run", f"{project / 'flows.py'}:etl").returncode == 1
    rid = run_ids(cli(env, "runs", "list").stdout)[0]
    proc = cli(env, "runs", "show", rid[:4])
    assert proc.returncode == 0 and rid in proc.stdout
    proc = cli(env, "runs", "logs", rid, "--task", "nope")
    assert proc.returncode == 2
    assert f"run {rid} has no task 'nope'; its tasks: " in proc.stderr and "square" in proc.stderr
    assert cli(env, "runs", "logs", "last", "--task", "square").returncode == 0


def test_runs_prune_deletes_old_records_and_cache_entries(env, project):
    import msgpack
    home = Path(env["PREFECT_DASK_HOME"])
    assert cli(env, "run", f"{project / 'flows.py'}:other").returncode == 0
    (home / "runs" / "old-run.msgpack").write_bytes(msgpack.packb(
        {"kind": "start", "run_id": "old-run", "flow": "f", "started": 1.0e9}) + msgpack.packb(
        {"kind": "end", "state": "Success", "finished": 1.0e9 + 1}))
    entry = home / "cache" / "k" / f"{10**18:d}-000000000000-t.pkl"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"x")
    fresh = entry.with_name(f"{int(2e18)}-000000000000-t.pkl")
    fresh.write_bytes(b"x")
    proc = cli(env, "runs", "prune", "--older-than", "30d", "--dry-run")
    assert "Would delete 1 run record(s)" in proc.stdout and entry.exists()
    proc = cli(env, "runs", "prune", "--older-than", "30d")
    assert proc.returncode == 0, proc.stderr
    assert "Deleted 1 run record(s)" in proc.stdout and "Deleted 1 cache entry" in proc.stdout
    assert "Deleted 0 checkpoint file(s) of those runs" in proc.stdout
    helped = " ".join(cli(env, "runs", "prune", "--help").stdout.split())
    assert "the checkpoints those runs wrote under $PREFECT_DASK_HOME/results/<flow>/<task>/<run " \
        "id>/" in helped and "target=" in helped
    assert not (home / "runs" / "old-run.msgpack").exists() and not entry.exists()
    assert fresh.exists() and len(run_ids(cli(env, "runs", "list").stdout)) == 1
    proc = cli(env, "runs", "prune", "--older-than", "soon")
    assert proc.returncode == 2 and "--older-than 'soon' is not a duration" in proc.stderr


def test_output_into_a_closed_pipe_is_no_error(env):
    import msgpack
    runs = Path(env["PREFECT_DASK_HOME"]) / "runs"
    runs.mkdir(parents=True)
    for i in range(1000):     # far more output than a pipe holds
        (runs / f"run-{i}.msgpack").write_bytes(msgpack.packb(
            {"kind": "start", "run_id": f"run-{i}", "flow": "f", "started": 1.0e9 + i}))
    proc = subprocess.run(f"{sys.executable} -m prefect_dask.app.cli runs list --json --limit 1000 "
                          "| head -1", shell=True, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout == "[\n" and proc.stderr == ""


def test_run_prints_the_run_id_and_how_to_inspect_it(env, project):
    (project / "fail.flag").touch()
    proc = cli(env, "run", f"{project / 'flows.py'}:etl")
    assert proc.returncode == 1
    rid = run_ids(cli(env, "runs", "list").stdout)[0]
    lines = proc.stdout.splitlines()
    assert re.fullmatch(rf"Run {rid}[0-9a-f-]{{28}}", lines[-5])
    assert lines[-4:] == [f"  see it:    prefect-dask runs show {rid}",
                          f"  its logs:  prefect-dask runs logs {rid} [--task NAME]",
                          f"  report:    prefect-dask report {rid}",
                          f"  resume it: prefect-dask resume {rid} --file "
                          f"{project / 'flows.py'}:etl"]


def test_version():
    proc = subprocess.run([sys.executable, "-m", "prefect_dask.app.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and re.fullmatch(r"prefect-dask \S+ \(Python 3\.\d+\.\d+\)\n",
                                                 proc.stdout)


@pytest.mark.parametrize("args, message", [
    (["--executor", "threads", "--address", "tcp://127.0.0.1:1"],
     "--address connects to a Dask scheduler, but --executor is 'threads'; use --executor dask"),
    (["--executor", "threads", "--threads", "2"],
     "--threads sets the threads of each Dask worker; with --executor threads use --workers"),
    (["--workers", "2"], "the local executor runs one task at a time in this process; "
                         "--workers needs --executor threads, processes or dask"),
    (["--address", "tcp://127.0.0.1:1", "--workers", "2"],
     "--workers/--threads size a cluster this command starts; the cluster at "
     "tcp://127.0.0.1:1 is already running"),
    (["--workers", "0"], "'0' is not a whole number of at least 1"),
    (["--executor", "nosuch"], "Unknown executor 'nosuch'; known executors: dask, local"),
], ids=["address-threads", "threads-threads", "workers-local", "address-workers", "zero",
        "unknown"])
def test_conflicting_options_are_refused(env, project, args, message):
    (project / "fail.flag").touch()
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (project / "side.txt").exists()          # the flow file did not even run


def test_executor_names_any_case_and_workers(env, project):
    proc = cli(env, "run", f"{project / 'flows.py'}:etl", "--executor", "Threads",
               "--workers", "3")
    assert proc.returncode == 0, proc.stderr
    import json
    [run] = json.loads(cli(env, "runs", "list", "--json").stdout)
    assert "scheduler='threads'" in run["executor"] and "num_workers=3" in run["executor"]


@pytest.mark.slow
def test_dask_scheduler_address_from_dasks_own_config(env, project):
    from conftest import session_cluster
    address = session_cluster().scheduler_address
    proc = cli({**env, "DASK_SCHEDULER_ADDRESS": address}, "run",
               f"{project / 'flows.py'}:etl", "--executor", "DASK")
    assert proc.returncode == 0, proc.stderr
    import json
    [run] = json.loads(cli(env, "runs", "list", "--json").stdout)
    assert address in run["executor"]


def test_missing_parameter_names_the_option(env, tmp_path):
    path = tmp_path / "needs.py"
    path.write_text("from prefect_dask import Flow, Parameter, task\n"
                    "@task\ndef show(x):\n    return x\n"
                    "with Flow('needs') as flow:\n    show(Parameter('day'))\n")
    proc = cli(env, "run", str(path))
    assert proc.returncode == 2
    assert "flow 'needs' needs a value for parameter(s) 'day'; pass --param day=VALUE" in \
        proc.stderr


def test_an_error_in_the_flow_file_shows_its_frames_and_exits_2(env, tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("from prefect_dask import Flow\n\n"
                    "def settings():\n    return CONFIG['db']\n\n"
                    "DB = settings()\n")
    proc = cli(env, "run", str(path))
    assert proc.returncode == 2
    err = proc.stderr
    assert err.startswith(f"prefect-dask: {path} raised an error while it was loaded (before "
                          "any flow ran):\nTraceback (most recent call last):\n"
                          f'  File "{path}", line 6, in <module>\n    DB = settings()\n'
                          f'  File "{path}", line 4, in settings\n')
    assert err.rstrip().endswith("NameError: name 'CONFIG' is not defined")
    assert "runpy" not in err and "cli.py" not in err
    path.write_text("def broken(:\n")
    proc = cli(env, "run", str(path))
    assert proc.returncode == 2 and "SyntaxError" in proc.stderr and "cli.py" not in proc.stderr


def test_a_signal_raised_by_the_flow_file_is_a_load_error(env, tmp_path):
    """Signals are BaseExceptions; one raised while the file loads is shown like any
    other error of the file (its frames, exit 2), not as a crash of the CLI."""
    path = tmp_path / "signalling.py"
    path.write_text("from prefect_dask import signals\n\n"
                    "raise signals.FAIL('not configured')\n")
    proc = cli(env, "run", str(path))
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert err.startswith(f"prefect-dask: {path} raised an error while it was loaded (before "
                          "any flow ran):\nTraceback (most recent call last):\n"
                          f'  File "{path}", line 3, in <module>\n')
    assert "FAIL: not configured" in err
    assert "runpy" not in err and "cli.py" not in err


SLOW_FLOW = '''
import time
from prefect_dask import Flow, task

@task
def nap(x):
    time.sleep(0.2 if x < 2 else 60)

with Flow("napping") as flow:
    nap.map(list(range(4)))
'''


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["threads", "dask"])
def test_ctrl_c_cancels_the_run_and_says_how_to_resume(env, tmp_path, executor):
    import signal
    import time
    path = tmp_path / "slow.py"
    path.write_text(SLOW_FLOW)
    proc = subprocess.Popen([sys.executable, "-m", "prefect_dask.app.cli", "run", str(path),
                             # as many threads as children: whichever order the threads
                             # take them in, the short ones finish first
                             "--executor", executor,
                             *(["--workers", "4"] if executor == "threads" else
                               ["--workers", "2", "--threads", "2"])], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=takes_ctrl_c,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:      # wait until the first children finished
        runs = cli(env, "runs", "list", "--json").stdout
        if '"task_runs": 1' not in runs and '"task_runs"' in runs:
            break
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)      # what a terminal's Ctrl-C does: the whole group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    rid = run_ids(cli(env, "runs", "list").stdout)[0]
    assert err.strip().splitlines()[-2:] == [f"interrupted; run {rid} cancelled; resume with:",
                                             f"  prefect-dask resume {rid} --file {path}"]
    assert "Traceback" not in err, err
    assert "Cancelled" in cli(env, "runs", "list").stdout
