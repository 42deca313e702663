"""Fault injection with real processes (issue 8): nothing breaks silently.

1. The Dask scheduler SIGKILLed mid-run: ``flow.run`` returns, every task ends in
   a finished state, and ``resume`` on a fresh cluster finishes the run without
   recomputing the checkpointed children.
2. Hard timeouts: on processes and Dask the timed-out task's process is gone; on
   threads the task ends TimedOut on time (its thread is abandoned, as documented).
3. Result writes failing (a read-only directory; ``RLIMIT_FSIZE``): the task fails
   naming the path, and no torn or partial file is left to be read back.
4. Secret parameters never appear in run records, ``runs show``, reports or the
   end-of-run summary.
5. The driver SIGKILLed mid-run: its record reads back, ``runs show`` works, and
   ``resume`` from a new process completes the run without recomputing.

No mocks: schedulers, workers, drivers and limits are real processes and syscalls.
Probes crossing processes are files (``cluster_helpers.append_line``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from cluster_helpers import (append_line, dask_processes, descendants, every_state,
                             pickle_by_value, read_lines)
from prefect_dask import Flow, Parameter, get_logger, signals, task, unmapped
from prefect_dask.executors import DaskExecutor
from prefect_dask.store.records import list_runs, read_record
from prefect_dask.results import LocalResult, read_value
from prefect_dask.states import Cached, Crashed, Mapped, State, Success, TimedOut

pickle_by_value(__name__)

CLI = [sys.executable, "-m", "prefect_dask.app.cli"]


def by_name(record: dict) -> dict:
    return {t.get("name"): t for t in record["tasks"].values()}


def poll(what, timeout: float, step: float = 0.05):
    """``what()`` once it is truthy, or its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# == 1. the Dask scheduler killed mid-run ===================================================

FAST, WIDTH = 2, 5       # the first 2 children to start return at once; the rest sleep 30 s


@task(map_batch_size=1)
def nap(i, probes):
    """Child ``i``: counts its executions.  The worker has one thread, and Dask picks the
    order: the first FAST children to start return at once, later ones sleep 30 s, unless
    ``no-sleep`` exists."""
    append_line(os.path.join(probes, "runs"), str(i))
    started = len(read_lines(os.path.join(probes, "runs")))
    if started > FAST and not os.path.exists(os.path.join(probes, "no-sleep")):
        time.sleep(30)
    append_line(os.path.join(probes, "done"), str(i))
    return i * 10


@task
def add_up(xs):
    return sum(xs)


def scheduler_pid(cluster_dir: Path) -> int:
    """The ``dask scheduler`` process ``dask_processes(cluster_dir)`` started."""
    found = [p for p in descendants(os.getpid())
             if " scheduler " in cmdline(p) and str(cluster_dir) in cmdline(p)]
    assert len(found) == 1, [cmdline(p) for p in descendants(os.getpid())]
    return found[0]


@pytest.fixture(scope="module")
def scheduler_killed(tmp_path_factory: pytest.TempPathFactory):
    """Run a flow on ``dask scheduler`` + one worker, SIGKILL the scheduler once the fast
    children are checkpointed and recorded; what ``flow.run`` returned, and how fast."""
    base = tmp_path_factory.mktemp("scheduler-killed")
    home, probes, cluster = base / "home", base / "probes", base / "cluster1"
    probes.mkdir()
    cluster.mkdir()
    with Flow("scheduler-killed", result=LocalResult(base / "ckpt")) as flow:
        children = nap.map(list(range(WIDTH)), unmapped(str(probes)))
        total = add_up(children)
    box: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_DASK_HOME", str(home))
        with dask_processes(cluster, n_workers=1) as address:
            victim = scheduler_pid(cluster)

            def run() -> None:
                try:
                    box["state"] = flow.run(executor=DaskExecutor(address=address))
                except BaseException as exc:    # reported by the tests
                    box["error"] = exc

            runner = threading.Thread(target=run, daemon=True)
            runner.start()
            fast_done = poll(lambda: len(read_lines(probes / "done")) >= FAST, 60)
            assert fast_done, f"fast children did not finish: {read_lines(probes / 'runs')}"

            fast = sorted(int(i) for i in read_lines(probes / "done"))
            assert len(fast) == FAST, fast

            def fast_recorded() -> bool:   # checkpointed, and in the driver's record
                runs = list_runs()
                kids = by_name(runs[0]).get("nap", {}).get("children", {}) if runs else {}
                return all(kids.get(i, {}).get("state") == "Success" for i in fast)

            assert poll(fast_recorded, 20), list_runs()
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            runner.join(60)
            returned_after = time.monotonic() - killed if not runner.is_alive() else None
            runs_before = read_lines(probes / "runs")
    return {"flow": flow, "nap": children, "total": total, "address": address, "home": home,
            "probes": probes, "base": base, "returned_after": returned_after,
            "runs_before": runs_before, "fast": fast,
            "slow": [i for i in range(WIDTH) if i not in fast], **box}


def names_lost_scheduler(state: State, address: str) -> bool:
    return isinstance(state, Crashed) and "scheduler" in state.message \
        and address in state.message


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_scheduler_killed_run_returns_with_every_task_finished(scheduler_killed):
    k = scheduler_killed
    assert "error" not in k, repr(k.get("error"))
    assert k["returned_after"] is not None and k["returned_after"] < 30, k["returned_after"]
    state = k["state"]
    assert state.is_failed(), state
    unfinished = [s for s in every_state(state) if not s.is_finished()]
    assert unfinished == [], unfinished                    # nothing Pending or Running
    assert names_lost_scheduler(state.result[k["total"]], k["address"]), state.result[k["total"]]
    nap_state = state.result[k["nap"]]
    if isinstance(nap_state, Mapped):                      # the slow children crashed
        for i in k["slow"]:
            assert names_lost_scheduler(nap_state.map_states[i], k["address"]), i
    else:                                                  # or the mapped task as a whole
        assert names_lost_scheduler(nap_state, k["address"]), nap_state


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_scheduler_killed_checkpoints_and_record_intact(scheduler_killed, monkeypatch):
    """The fast children's checkpoints read back; the record says what finished and ends."""
    k = scheduler_killed
    monkeypatch.setenv("PREFECT_DASK_HOME", str(k["home"]))
    record = list_runs()[0]
    assert record["state"] == "Failed"                     # the run was closed
    kids = by_name(record)["nap"]["children"]
    for i in k["fast"]:
        assert kids[i]["state"] == "Success"
        assert read_value(kids[i]["location"]) == i * 10
    assert all(kids.get(i, {}).get("state") != "Success" for i in k["slow"]), kids


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_scheduler_killed_finished_children_stay_success(scheduler_killed):
    k = scheduler_killed
    nap_state = k["state"].result[k["nap"]]
    assert isinstance(nap_state, Mapped), nap_state
    assert [type(c) for c in nap_state.map_states] == \
        [Success if i in k["fast"] else Crashed for i in range(WIDTH)]
    assert [nap_state.map_states[i].result for i in k["fast"]] == [i * 10 for i in k["fast"]]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_resume_after_scheduler_loss_on_a_fresh_cluster(scheduler_killed, monkeypatch):
    """resume="last" on a new scheduler and worker: Success, the checkpointed children loaded,
    only the crashed ones run again."""
    k = scheduler_killed
    monkeypatch.setenv("PREFECT_DASK_HOME", str(k["home"]))
    (k["probes"] / "no-sleep").touch()
    cluster = k["base"] / "cluster2"
    cluster.mkdir()
    with dask_processes(cluster, n_workers=1) as address:
        state = k["flow"].run(resume="last", executor=DaskExecutor(address=address))
    assert state.is_successful(), state
    assert state.result[k["total"]].result == sum(i * 10 for i in range(WIDTH))
    kids = list(state.result[k["nap"]].map_states)
    assert [type(c) for c in kids] == \
        [Cached if i in k["fast"] else Success for i in range(WIDTH)], kids
    before, after = k["runs_before"], read_lines(k["probes"] / "runs")
    reran = sorted(after[len(before):], key=int)
    assert reran == [str(i) for i in k["slow"]]            # the fast ones were not recomputed
    assert [before.count(str(i)) for i in k["fast"]] == [1] * FAST


@task
def slow_single(i, probes):
    append_line(Path(probes) / "started", str(i))
    time.sleep(0.3)
    return i


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_scheduler_killed_while_groups_of_separate_tasks_run(tmp_path):
    """Separate tasks run in group nodes; the scheduler dies mid-run: flow.run returns, every
    task ends Success or Crashed naming the lost scheduler, the finished ones keep their
    results."""
    probes, cluster = tmp_path / "probes", tmp_path / "cluster"
    probes.mkdir()
    cluster.mkdir()
    with Flow("groups lose their scheduler") as flow:
        singles = [slow_single(i, str(probes)) for i in range(40)]
    box: dict = {}
    with dask_processes(cluster, n_workers=1) as address:
        victim = scheduler_pid(cluster)
        runner = threading.Thread(target=lambda: box.setdefault(
            "state", flow.run(executor=DaskExecutor(address=address))), daemon=True)
        runner.start()
        assert poll(lambda: len(read_lines(probes / "started")) >= 6, 60)
        os.kill(victim, signal.SIGKILL)
        runner.join(60)
    assert not runner.is_alive(), "flow.run did not return after the scheduler died"
    states = [box["state"].result[t] for t in singles]
    assert all(s.is_finished() for s in states), states
    crashed = [s for s in states if isinstance(s, Crashed)]
    assert crashed and all(names_lost_scheduler(s, address) for s in crashed), crashed
    assert all(s.result == i for i, s in enumerate(states) if type(s) is Success)


# == 2. hard timeouts ======================================================================

@task(timeout=1)
def stuck(pid_file, seconds):
    """Writes the pid of the process it runs in, then overstays its timeout."""
    with open(pid_file, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(seconds)
    return "too late"


HARD = ("processes", "dask")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_timeout_ends_timed_out_and_stops_the_process(any_executor, request, tmp_path):
    """Processes and Dask: TimedOut within ~10 s, and the process running the task is gone.
    Local and threads: TimedOut on time; the abandoned thread runs on (documented), so only
    the state and the timing are checked."""
    kind = request.node.callspec.params["any_executor"]
    pid_file = tmp_path / "pid"
    with Flow(f"timeout-{kind}") as flow:
        out = stuck(str(pid_file), 60 if kind in HARD else 5)
    started = time.monotonic()
    state = flow.run(executor=any_executor)
    took = time.monotonic() - started
    timed_out = state.result[out]
    assert isinstance(timed_out, TimedOut), timed_out
    assert isinstance(timed_out.result, signals.TaskTimeoutSignal)
    assert took < 10, took
    assert poll(lambda: pid_file.exists() and pid_file.read_text().strip(), 5)
    pid = int(pid_file.read_text())
    if kind in HARD:
        assert pid != os.getpid()
        assert poll(lambda: gone(pid), 5), f"the timed-out task's process {pid} still runs: " \
                                           f"{cmdline(pid)!r}"
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    else:
        assert pid == os.getpid()          # ran in a thread of this process


# == 3. result writes failing ===============================================================

READ_ONLY_SCRIPT = textwrap.dedent('''
    import json, os, sys
    from prefect_dask import Flow, task
    from prefect_dask.results import LocalResult

    ro = sys.argv[1]
    if os.access(ro, os.W_OK):
        print(json.dumps({"skip": "the read-only directory is writable here (root?)"}))
        sys.exit(0)

    @task(name="save_it", checkpoint=True, result=LocalResult(ro))
    def save_it():
        return {"a": 1}

    with Flow("read-only") as flow:
        out = save_it()
    state = flow.run()
    s = state.result[out]
    print(json.dumps({"flow": type(state).__name__, "state": type(s).__name__,
                      "message": s.message}))
''')


def test_read_only_result_dir_fails_the_task_naming_the_path(tmp_path):
    """A checkpoint into a read-only directory (0o500): the task ends Failed naming the path.

    As root, permission bits do not stop writes (CAP_DAC_OVERRIDE); then the script runs
    under ``setpriv`` with that capability dropped, or the test is skipped."""
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o500)
    script = tmp_path / "ro.py"
    script.write_text(READ_ONLY_SCRIPT)
    cmd = [sys.executable, str(script), str(ro)]
    if os.access(ro, os.W_OK):
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, and no setpriv to drop CAP_DAC_OVERRIDE")
        cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    finally:
        ro.chmod(0o700)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(out["skip"])
    assert out["flow"] == "Failed" and out["state"] == "Failed", out
    assert "save_it" in out["message"] and str(ro) in out["message"], out["message"]
    assert list(ro.iterdir()) == []


FSIZE_LIMIT = 1 << 20          # 1 MiB per file; the big result is 4 MiB

FSIZE_SCRIPT = textwrap.dedent(f'''
    import json, os, resource, signal, sys

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, ({FSIZE_LIMIT}, {FSIZE_LIMIT}))

    from prefect_dask import Flow, task
    from prefect_dask.results import LocalResult

    store = LocalResult(sys.argv[1])

    @task(name="small", checkpoint=True, result=store)
    def small():
        return b"s" * 1000

    @task(name="big", checkpoint=True, result=store)
    def big():
        return os.urandom(4 << 20)

    with Flow("fsize") as flow:
        a, b = small(), big()

    if __name__ == "__main__":
        out = {{}}
        for executor in sys.argv[2].split(","):
            state = flow.run(executor=executor)
            out[executor] = {{"flow": type(state).__name__}}
            for name, t in (("small", a), ("big", b)):
                s = state.result[t]
                out[executor][name] = {{"state": type(s).__name__, "message": s.message,
                                        "location": s.location}}
        print(json.dumps(out))
''')


@pytest.mark.slow
def test_result_write_over_rlimit_fsize_fails_naming_the_file(tmp_path):
    """With RLIMIT_FSIZE at 1 MiB a 4 MiB checkpoint cannot be written: the task ends Failed
    naming the file, and every file left in the result directory is complete (reads back)."""
    store = tmp_path / "results"
    script = tmp_path / "fsize.py"
    script.write_text(FSIZE_SCRIPT)
    env = {**os.environ, "PREFECT_DASK_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, str(script), str(store), "local,processes"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for executor, run in out.items():
        assert run["flow"] == "Failed", (executor, run)
        assert run["small"]["state"] == "Success", (executor, run)
        big = run["big"]
        assert big["state"] == "Failed", (executor, big)
        assert "big" in big["message"] and str(store) in big["message"], big["message"]
        named = big["message"].split(str(store), 1)[1].split(":", 1)[0]
        assert named.endswith(".pkl"), big["message"]          # the file, not just the dir
        assert not Path(str(store) + named).exists()           # no partial file under its name
        assert read_value(run["small"]["location"]) == b"s" * 1000
    files = [p for p in store.rglob("*") if p.is_file()]
    assert len(files) == len(out)                              # one small result per run
    for path in files:                                         # none torn, none temporary
        assert not path.name.startswith(".") and ".tmp" not in path.name, path
        assert read_value(path) == b"s" * 1000


# == 4. secret parameters ==================================================================

@task
def call_api(token, user):
    get_logger().info("calling the API as %s", user)
    return len(token)


@task
def reject(n):
    raise ValueError(f"the API refused a {n}-character token")


def test_secret_parameter_never_shown(executor, tmp_path, caplog):
    token = f"tok-{uuid.uuid4().hex}"
    user = f"alice-{uuid.uuid4().hex[:6]}"
    with Flow("secret") as flow:
        secret = Parameter("token", secret=True)
        who = Parameter("user", default="nobody")
        n = call_api(secret, who)
        reject(n)
    caplog.set_level(logging.INFO, logger="prefect_dask")
    state = flow.run(parameters={"token": token, "user": user}, executor=executor)
    assert state.is_failed()
    assert state.result[n].result == len(token)                # the run itself got the value
    assert "ended Failed" in caplog.text                       # the end-of-run summary...
    assert token not in caplog.text                            # ...and every log: no secret
    record = list_runs()[0]
    assert token.encode() not in Path(record["path"]).read_bytes()
    assert record["parameters"]["user"] == user and record["parameters"]["token"] != token
    show = subprocess.run([*CLI, "runs", "show", "last"], capture_output=True, text=True,
                          timeout=60)
    assert show.returncode == 0, show.stderr
    assert token not in show.stdout + show.stderr
    assert user in show.stdout                                 # plain parameters do show
    html = tmp_path / "f.html"
    report = subprocess.run([*CLI, "report", "last", "-o", str(html)], capture_output=True,
                            text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    assert token not in report.stdout + report.stderr
    assert token not in html.read_text() and user in html.read_text()


def test_secret_parameter_not_written_to_checkpoints(tmp_path):
    token = f"tok-{uuid.uuid4().hex}"
    store = tmp_path / "results"
    with Flow("secret-ckpt", result=LocalResult(store)) as flow:
        n = call_api(Parameter("token", secret=True), "bob")
    state = flow.run(parameters={"token": token})
    assert state.result[n].result == len(token)
    leaked = [p for p in store.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert leaked == [], leaked


# == 5. the driver process SIGKILLed mid-run ================================================

DRIVER_SCRIPT = textwrap.dedent('''
    import os, sys, time
    from prefect_dask import Flow, task
    from prefect_dask.results import LocalResult

    PROBES = sys.argv[2]

    def probe(what):
        with open(os.path.join(PROBES, "events"), "a") as fh:
            fh.write(what + "\\n")

    @task
    def load():
        probe("load")
        return [1, 2, 3]

    @task
    def double(x):
        probe(f"double {x}")
        return 2 * x

    @task
    def slow_sum(xs):
        probe("slow_sum")
        if not os.path.exists(os.path.join(PROBES, "no-sleep")):
            time.sleep(30)
        return sum(xs)

    with Flow("driver-killed", result=LocalResult(os.path.join(PROBES, "ckpt"))) as flow:
        total = slow_sum(double.map(load()))

    if __name__ == "__main__":
        state = flow.run(resume=None if sys.argv[1] == "run" else sys.argv[1],
                         executor="threads")
        print(type(state).__name__, state.result[total].result)
''')


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_driver_killed_record_reads_back_and_resume_completes(tmp_path):
    probes = tmp_path / "probes"
    probes.mkdir()
    script = tmp_path / "driver.py"
    script.write_text(DRIVER_SCRIPT)
    events = probes / "events"
    with open(tmp_path / "driver.err", "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), "run", str(probes)],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path,
                                start_new_session=True)
    try:
        assert poll(lambda: "slow_sum" in read_lines(events) or proc.poll() is not None, 60)
        assert proc.poll() is None, (tmp_path / "driver.err").read_text()[-3000:]

        def early_recorded() -> bool:
            runs = list_runs()
            tasks = by_name(runs[0]) if runs else {}
            kids = tasks.get("double", {}).get("children", {})
            return tasks.get("load", {}).get("state") == "Success" and len(kids) == 3
        assert poll(early_recorded, 10), list_runs()
        os.kill(proc.pid, signal.SIGKILL)                  # kill -9 the driver mid-run
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    runs = list_runs()
    assert len(runs) == 1
    record = read_record(runs[0]["path"])
    assert record["state"] is None and record["finished"] is None     # it never ended
    tasks = by_name(record)
    assert tasks["load"]["state"] == "Success"
    assert [c["state"] for _, c in sorted(tasks["double"]["children"].items())] == \
        ["Success"] * 3
    assert tasks.get("slow_sum", {}).get("state") in (None, "Running")
    run_id = record["run_id"]

    show = subprocess.run([*CLI, "runs", "show", run_id], capture_output=True, text=True,
                          timeout=60)
    assert show.returncode == 0, show.stderr
    assert run_id in show.stdout and "not finished" in show.stdout      # its driver is gone:
    assert "Crashed" in show.stdout, show.stdout                       # the run Crashed
    assert any("load" in line and "Success" in line for line in show.stdout.splitlines()), \
        show.stdout
    assert "3 Success" in show.stdout, show.stdout                   # double's children

    (probes / "no-sleep").touch()
    before = read_lines(events)
    resumed = subprocess.run([sys.executable, str(script), run_id, str(probes)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.split() == ["Success", "12"], resumed.stdout
    assert read_lines(events)[len(before):] == ["slow_sum"]         # nothing else recomputed
    assert sorted(before) == ["double 1", "double 2", "double 3", "load", "slow_sum"]
    final = list_runs()[0]
    assert final["run_id"] != run_id and final["state"] == "Success"


# == 6. the driver SIGKILLed in the middle of big batches of checkpointed children =========

BATCH_SCRIPT = textwrap.dedent('''
    import os, sys, time
    from prefect_dask import Flow, task
    from prefect_dask.executors import DaskExecutor, LocalDaskExecutor

    mode, kind, probes = sys.argv[1:4]     # mode: "run" or "resume"

    @task(checkpoint=True, map_batch_size=500)
    def work(i):
        fd = os.open(os.path.join(probes, mode), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{i}\\n".encode())
        os.close(fd)
        if mode == "run":
            time.sleep(0.005)
        return i * i

    @task
    def total(xs):
        return sum(xs)

    with Flow("killed-mid-batch") as flow:
        out = total(work.map(list(range(2000))))

    if __name__ == "__main__":
        executor = {
            "threads": lambda: LocalDaskExecutor(scheduler="threads", num_workers=2),
            "processes": lambda: LocalDaskExecutor(scheduler="processes", num_workers=2),
            "dask": lambda: DaskExecutor(cluster_kwargs={
                "n_workers": 2, "threads_per_worker": 1, "processes": True,
                "dashboard_address": None, "scheduler_kwargs": {"dashboard_address": ":0"}}),
        }[kind]()
        state = flow.run(executor=executor, resume="last" if mode == "resume" else None,
                         progress=False)
        print(type(state).__name__, state.result[out].result)
''')

WORKER_THREADS = 2


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["threads", "processes", "dask"])
def test_driver_killed_mid_batch_resume_reruns_only_the_running_children(kind, tmp_path):
    """2,000 checkpointed children in batches of 500; the driver is SIGKILLed once 300 have
    started, before any batch ended (so the run record names none of them).  Resume runs
    the children that never started and, again, at most those that were running (one per
    worker thread; the bound allows two)."""
    probes = tmp_path / "probes"
    probes.mkdir()
    script = tmp_path / "batches.py"
    script.write_text(BATCH_SCRIPT)
    with open(tmp_path / "driver.err", "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), "run", kind, str(probes)],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path,
                                start_new_session=True)
    try:
        assert poll(lambda: len(read_lines(probes / "run")) >= 300 or proc.poll() is not None,
                    120)
        assert proc.poll() is None, (tmp_path / "driver.err").read_text()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)                  # kill -9 the driver mid-batch
        assert proc.wait(10) == -signal.SIGKILL
    finally:   # then its pool or cluster processes, wherever they were
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
    finished = set(read_lines(probes / "run"))
    (record,) = list_runs()
    assert record["state"] is None                       # the run never ended
    recorded = by_name(record).get("work", {}).get("children", {})
    assert len(finished) - len(recorded) > 2 * WORKER_THREADS   # the record alone would not do

    resumed = subprocess.run([sys.executable, str(script), "resume", kind, str(probes)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.split() == ["Success", str(sum(i * i for i in range(2000)))]
    again = read_lines(probes / "resume")
    rerun = finished.intersection(again)     # started before the kill, and again now
    assert len(rerun) <= 2 * WORKER_THREADS, (len(rerun), len(finished))
    assert len(again) == len(set(again))
    assert finished | set(again) == {str(i) for i in range(2000)}
