"""Failures and bad input around executors (issue 4), on real processes and clusters.

- a Dask worker process killed in the middle of a mapped run (a LocalCluster
  with worker processes started here, never the session cluster);
- Ctrl-C (SIGINT) during ``flow.run``, in a subprocess, on every executor;
- an unreachable scheduler address;
- tasks and inputs that cannot be pickled for processes or a cluster;
- executor names: built-ins, unknown names, and plugins found through the
  ``prefect_dask.executors`` entry point group.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cluster_helpers import (alive, append_line, descendants, describe, every_state,
                             pickle_by_value, read_lines, takes_ctrl_c, wait_gone,
                             write_dist_info)
from prefect_dask import Flow, Parameter, Task, task, triggers, unmapped
from tasks import inc
from prefect_dask.errors import ExecutorError
from prefect_dask.executors import (DaskExecutor, LocalDaskExecutor, LocalExecutor,
                                    get_executor, known_executors)
from prefect_dask.states import Crashed, Failed

pickle_by_value(__name__)

NO_HTTP_PORT = {"dashboard_address": ":0"}   # see test_executors_cluster.py


def kinds(state) -> list[str]:
    return [type(c).__name__ for c in state.map_states]


# -- tasks (module level, pickled by value) ----------------------------------------------

@task(trigger=triggers.all_finished)
def count_ok(xs):
    return sum(1 for x in xs if not isinstance(x, BaseException))


@task
def logged(log, what, value):
    append_line(log, what)
    return value


@task(map_batch_size=1)
def child(i, victim):
    """Child ``victim`` kills its own worker process; the others return at once."""
    if i == victim:
        time.sleep(1)     # the others finish first, so no other task dies with this worker
        os.kill(os.getpid(), signal.SIGKILL)
    return i


@task
def die():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)


@task(max_retries=1)
def die_twice_then_succeed(log):
    """Kills its worker on its first two runs (Dask's own allowed retry included)."""
    append_line(log, "run")
    if len(read_lines(log)) <= 2:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    return "ok"


# -- a worker process killed in the middle of a run -----------------------------------------

@pytest.fixture(scope="module")
def fragile_cluster():
    """A LocalCluster of 2 worker processes (2 threads each) whose scheduler allows a task
    one worker death (it is rerun elsewhere) and gives up on the second (KilledWorker).
    Nannies restart killed workers, so the tests can share it."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                               dashboard_address=None, scheduler_kwargs=NO_HTTP_PORT,
                               silence_logs=logging.CRITICAL)
    try:
        yield cluster
    finally:
        cluster.close()


def on_fragile(cluster) -> DaskExecutor:
    """A DaskExecutor on ``cluster`` once both its workers are up again."""
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)
    return DaskExecutor(address=cluster.scheduler_address)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_killed_worker_crashes_only_its_child(fragile_cluster):
    with Flow("killed worker") as flow:
        xs = child.map(list(range(6)), unmapped(3))
        ys = inc.map(xs)
        n = count_ok(ys)
    state = flow.run(executor=on_fragile(fragile_cluster))
    assert state.is_finished()
    assert all(s.is_finished() for s in every_state(state)), every_state(state)
    assert kinds(state.result[xs]) == ["Success"] * 3 + ["Crashed"] + ["Success"] * 2
    crashed = state.result[xs].map_states[3]
    assert isinstance(crashed, Crashed) and isinstance(crashed, Failed)
    assert "'child[3]'" in crashed.message
    assert re.search(r"Dask worker tcp://127\.0\.0\.1:\d+", crashed.message), crashed.message
    assert type(crashed.result).__name__ == "KilledWorker"
    assert [c.result for c in state.result[xs].map_states if c.map_index != 3] == [0, 1, 2, 4, 5]
    assert kinds(state.result[ys]) == ["Success"] * 3 + ["TriggerFailed"] + ["Success"] * 2
    assert state.result[n].result == 5


@task(map_batch_size=1)
def child_reading(i, victim, blob):
    """``child``, reading a big Parameter that every child shares."""
    return child.run(i, victim) + len(blob) - BIG


BIG = 4 * 2**20


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_killed_worker_with_big_run_wide_data(fragile_cluster):
    """The run-wide data (here with a big Parameter) is a node of the graph, so the worker
    killed may be the one holding it: the scheduler makes it again, and only the killer
    ends Crashed.  (Scattered instead, it would be lost with that worker and every task
    still to read it would end Crashed: tried, and this test caught it.)"""
    with Flow("killed worker, big parameter") as flow:
        blob = Parameter("blob", default=bytes(BIG))
        xs = child_reading.map(list(range(6)), unmapped(3), unmapped(blob))
        n = count_ok(xs)
    state = flow.run(executor=on_fragile(fragile_cluster))
    assert all(s.is_finished() for s in every_state(state)), every_state(state)
    assert kinds(state.result[xs]) == ["Success"] * 3 + ["Crashed"] + ["Success"] * 2
    assert [c.result for c in state.result[xs].map_states if c.map_index != 3] == [0, 1, 2, 4, 5]
    assert state.result[n].result == 5


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_killed_worker_of_a_single_task(fragile_cluster, tmp_path):
    log = str(tmp_path / "log")
    with Flow("killed single") as flow:
        d = die()
        after = inc(d)
        other = logged(log, "other", 1)
    state = flow.run(executor=on_fragile(fragile_cluster))
    assert all(s.is_finished() for s in every_state(state)), every_state(state)
    assert isinstance(state.result[d], Crashed)
    assert "Task 'die'" in state.result[d].message
    assert state.result[after].is_failed()             # TriggerFailed: its upstream crashed
    assert state.result[other].result == 1
    assert state.is_failed()


@task
def quick(i):
    return i


die_twice_then_succeed_no_retries = die_twice_then_succeed.copy(max_retries=0)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_killed_worker_in_a_group_of_separate_tasks(fragile_cluster, tmp_path):
    """Many independent single tasks run in group nodes.  One kills its worker twice (Dask
    reruns it once, then gives up): its group is split and its tasks run again one by one,
    none charged with the death, so none of them (no retries) ends Crashed."""
    log = str(tmp_path / "log")
    with Flow("killed group") as flow:
        plain = [quick(i) for i in range(200)]
        killer = die_twice_then_succeed_no_retries(log)
    state = flow.run(executor=on_fragile(fragile_cluster))
    assert all(s.is_finished() for s in every_state(state)), every_state(state)
    assert [state.result[t].result for t in plain] == list(range(200))
    assert state.result[killer].result == "ok"
    assert read_lines(log) == ["run"] * 3
    assert state.is_successful()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_crash_counts_against_the_tasks_retries(fragile_cluster, tmp_path):
    log = str(tmp_path / "log")
    with Flow("crash then retry") as flow:
        t = die_twice_then_succeed(log)
    state = flow.run(executor=on_fragile(fragile_cluster))
    # runs 1-2: Dask's attempts, both killed (KilledWorker = the task's attempt 1);
    # run 3: the task's retry (attempt 2), which succeeds.
    assert len(read_lines(log)) == 3
    assert state.result[t].result == "ok"
    assert state.result[t].attempts == 2


# -- Ctrl-C -------------------------------------------------------------------------------

CTRL_C_SCRIPT = textwrap.dedent('''
    """Run sleeping mapped tasks until interrupted; print what flow.run left behind."""
    import json, os, sys, threading, time
    from pathlib import Path

    from prefect_dask import Flow, task, unmapped
    from prefect_dask.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


    @task(map_batch_size=1)
    def nap(i, marker, seconds):
        with open(marker, "a") as fh:
            fh.write(f"{i}\\n")
        time.sleep(seconds)
        return i


    @task
    def total(xs):
        return sum(xs)


    def live_children():
        """Child processes of this one still running, except multiprocessing's resource
        tracker (which lives until the interpreter exits)."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\\0", b" ")
            except OSError:
                continue
            if int(stat[1]) == os.getpid() and stat[0] not in "ZX" \\
                    and b"resource_tracker" not in cmd:
                out.append(cmd.decode(errors="replace")[:120])
        return out


    def main():
        kind, marker, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
        with Flow("ctrl-c") as flow:
            xs = nap.map(list(range(4)), unmapped(marker), unmapped(seconds))
            total(xs)
        executor = {
            "local": lambda: LocalExecutor(),
            "threads": lambda: LocalDaskExecutor(scheduler="threads", num_workers=2),
            "processes": lambda: LocalDaskExecutor(scheduler="processes", num_workers=2),
            "dask": lambda: DaskExecutor(cluster_kwargs={
                "n_workers": 2, "threads_per_worker": 1, "processes": True,
                "dashboard_address": None, "scheduler_kwargs": {"dashboard_address": ":0"}}),
        }[kind]()

        def announce():
            while not os.path.exists(marker):
                time.sleep(0.02)
            print("started", flush=True)

        threading.Thread(target=announce, daemon=True).start()
        try:
            flow.run(executor=executor)
        except KeyboardInterrupt as exc:
            fs = getattr(exc, "flow_state", None)
            print("SUMMARY " + json.dumps({
                "flow": type(fs).__name__ if fs is not None else None,
                "tasks": {t.name: [type(s).__name__, s.message]
                          for t, s in (fs.result.items() if fs is not None else ())},
                "children_at_raise": live_children(),
            }), flush=True)
            sys.exit(130)
        print("FINISHED", flush=True)


    if __name__ == "__main__":
        main()
''')

RAISE_WITHIN = 10.0   # s from SIGINT to KeyboardInterrupt out of flow.run (cleanup included)
EXIT_WITHIN = 15.0    # s from SIGINT to the process exiting


def _lines(stream) -> queue.Queue:
    """A queue filled with ``stream``'s lines by a daemon thread (None at EOF)."""
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def _next_line(q: queue.Queue, deadline: float, what: str, stderr: Path) -> str:
    while True:
        try:
            line = q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no {what} in time; stderr:\n{stderr.read_text()[-3000:]}")
        if line is None:
            pytest.fail(f"stdout closed before {what}; stderr:\n{stderr.read_text()[-3000:]}")
        if line.startswith(what):
            return line


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind, target", [
    ("local", "process"),
    ("threads", "process"),
    ("processes", "process"),
    ("processes", "group"),
    ("dask", "process"),
    ("dask", "group"),
])
def test_ctrl_c_cancels_and_cleans_up(kind, target, tmp_path):
    """SIGINT to the script ("process") or to its whole process group, as a terminal's
    Ctrl-C does ("group"): flow.run raises KeyboardInterrupt within seconds, after its
    executor stopped, with a Cancelled .flow_state; no child process is left."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    marker, stderr = tmp_path / "marker", tmp_path / "stderr"
    with open(stderr, "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), kind, str(marker), "60"],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=tmp_path,
                                start_new_session=True, preexec_fn=takes_ctrl_c)
    kids: list[int] = []
    try:
        out = _lines(proc.stdout)
        _next_line(out, time.monotonic() + 60, "started", stderr)
        time.sleep(0.5)                      # every worker has picked up a child by now
        kids = descendants(proc.pid)
        sent = time.monotonic()
        if target == "group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        line = _next_line(out, sent + RAISE_WITHIN, "SUMMARY", stderr)
        proc.wait(max(0.1, sent + EXIT_WITHIN - time.monotonic()))
        assert proc.returncode == 130, stderr.read_text()[-3000:]
        summary = json.loads(line.split(" ", 1)[1])
        assert summary["flow"] == "Cancelled"
        tasks = summary["tasks"]
        assert tasks["nap"][0] == tasks["total"][0] == "Cancelled", tasks
        assert "interrupted" in tasks["nap"][1]
        assert tasks["Constant[list]"][0] == "Success"
        assert summary["children_at_raise"] == []     # the executor stopped before the raise
        left = wait_gone(kids, 5)
        assert left == [], describe(left)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for pid in alive(kids):              # descendants of the script started here
            os.kill(pid, signal.SIGKILL)


# -- an unreachable scheduler -------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _only_on_a_worker():
    from distributed import get_worker

    get_worker()   # raises ValueError outside a Dask worker
    return OnlyOnWorkers()


class OnlyOnWorkers:
    """A value that unpickles on Dask workers but not on the driver."""

    def __reduce__(self):
        return (_only_on_a_worker, ())


@task
def unfetchable(x):
    return OnlyOnWorkers()


def test_result_the_driver_cannot_load_ends_crashed_naming_the_task(dask_cluster):
    """A result that cannot come back to the driver: the task ends Crashed, its message
    names the task and the error; the other tasks keep their results."""
    with Flow("unfetchable") as flow:
        ok = inc(1)
        bad = unfetchable(ok)
    state = flow.run(executor=DaskExecutor(address=dask_cluster.scheduler_address))
    assert state.is_failed()
    assert state.result[ok].result == 2
    crashed = state.result[bad]
    assert isinstance(crashed, Crashed), crashed
    assert "unfetchable" in str(crashed.message) and "could not be fetched" in \
        str(crashed.message), crashed.message
    assert "ValueError" in str(crashed.message)


@pytest.mark.timeout(60)
def test_unreachable_scheduler_is_a_clear_error_within_10_s(tmp_path):
    address = f"tcp://127.0.0.1:{closed_port()}"
    log = str(tmp_path / "log")
    with Flow("nowhere") as flow:
        logged(log, "ran", 1)
    started = time.monotonic()
    with pytest.raises(ExecutorError, match=re.escape(f"could not reach a Dask scheduler at "
                                                      f"'{address}' within 2 s")):
        flow.run(executor=DaskExecutor(address=address, connect_timeout=2))
    assert time.monotonic() - started < 10
    assert read_lines(log) == []


def test_default_connect_timeout_is_at_most_10_s():
    assert DaskExecutor(address="tcp://127.0.0.1:8786").connect_timeout <= 10


# -- what cannot be pickled ----------------------------------------------------------------

class LockHolder(Task):
    """A task whose own attribute cannot be pickled."""

    def __init__(self, **kwargs):
        self.lock = threading.Lock()
        super().__init__(**kwargs)

    def run(self):
        with self.lock:
            return 1


@task
def takes(x):
    return 1


@task
def takes_two(x, y):
    return 1


UNPICKLABLE = {
    # name: (build the flow's tasks given a lock, task named, what is named)
    "closure": (lambda lock: task(lambda: lock.locked(), name="closes")(), "closes", "the task"),
    "attribute": (lambda lock: LockHolder(name="holder")(), "holder", "the task"),
    "input": (lambda lock: takes(lock), "takes", "input 'x'"),
    "unmapped input": (lambda lock: takes_two.map([1, 2], unmapped(lock)), "takes_two",
                       "input 'y'"),
    "inside a list": (lambda lock: takes([1, lock]), "takes", "input 'x'"),
}


@pytest.mark.parametrize("case", sorted(UNPICKLABLE))
def test_unpicklable_task_or_input_fails_before_anything_runs(any_executor, case, tmp_path):
    build, name, what = UNPICKLABLE[case]
    log = str(tmp_path / "log")
    lock = threading.Lock()
    with Flow("unpicklable") as flow:
        logged(log, "ran", 1)
        build(lock)
    if not getattr(any_executor, "needs_pickle", False):
        assert flow.run(executor=any_executor).is_successful()     # fine in one process
        return
    with pytest.raises(ExecutorError, match=re.escape(
            f"Flow 'unpicklable', task {name!r}: {what} cannot be pickled for {any_executor!r} "
            "(TypeError: cannot pickle '_thread.lock' object)")) as info:
        flow.run(executor=any_executor)
    assert "use the 'threads' executor" in str(info.value)
    assert read_lines(log) == []


def test_unpicklable_mapped_list_names_the_mapping_task(pickling_executor):
    with Flow("unpicklable map") as flow:
        takes.map([threading.Lock(), threading.Lock()])
    with pytest.raises(ExecutorError, match=r"task 'takes'.*cannot be pickled"):
        flow.run(executor=pickling_executor)


def test_unpicklable_parameter_value_fails_before_anything_runs(pickling_executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("unpicklable parameter") as flow:
        logged(log, "ran", 1)
        takes(Parameter("p"))
    with pytest.raises(ExecutorError, match=r"'p'.*cannot be pickled"):
        flow.run(executor=pickling_executor, parameters={"p": threading.Lock()})
    assert read_lines(log) == []


# -- executor names and plugins ---------------------------------------------------------------

def test_builtin_executor_names():
    assert isinstance(get_executor("local"), LocalExecutor)
    for name in ("threads", "processes", "sync"):
        ex = get_executor(name)
        assert isinstance(ex, LocalDaskExecutor) and ex.scheduler == name
    assert get_executor("threads", num_workers=3).num_workers == 3
    dask_ex = get_executor("dask", address="tcp://127.0.0.1:8786")
    assert isinstance(dask_ex, DaskExecutor) and dask_ex.address == "tcp://127.0.0.1:8786"
    assert {"local", "threads", "processes", "dask"} <= set(known_executors())


def test_flow_run_takes_an_executor_name():
    with Flow("by name") as flow:
        t = inc(1)
    assert flow.run(executor="threads").result[t].result == 2


def test_unknown_executor_name_lists_the_known_ones():
    with pytest.raises(ExecutorError, match=re.escape(
            "Unknown executor 'thread'; known executors: dask, local, processes, sync, "
            "threads.")):
        get_executor("thread")
    with Flow("bad name") as flow:
        inc(1)
    with pytest.raises(ExecutorError, match="Unknown executor 'nope'"):
        flow.run(executor="nope")


PLUGIN_MODULE = '''
from prefect_dask.executors import LocalExecutor


class PluginExecutor(LocalExecutor):
    """A third-party executor: the sync scheduler, remembering how it was made."""

    def __init__(self, label="default"):
        self.label = label

    def __repr__(self):
        return f"PluginExecutor({self.label!r})"


def make(**kwargs):
    return PluginExecutor(**kwargs)
'''


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """A distribution on sys.path declaring executors "pd_test_plugin" and "pd_test_broken"."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "pd_test_plugin_mod.py").write_text(PLUGIN_MODULE)
    write_dist_info(site, "pd_test_plugin", "prefect_dask.executors",
                    {"pd_test_plugin": "pd_test_plugin_mod:make",
                     "pd_test_broken": "pd_test_no_such_module:make"})
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("pd_test_plugin_mod", None)


def test_plugin_found_through_the_entry_point_group(plugin_path):
    assert {"pd_test_plugin", "pd_test_broken"} <= set(known_executors())
    ex = get_executor("pd_test_plugin", label="mine")
    assert repr(ex) == "PluginExecutor('mine')"
    with Flow("plugin") as flow:
        t = inc(1)
    assert flow.run(executor="pd_test_plugin").result[t].result == 2
    with pytest.raises(ExecutorError, match=r"known executors: .*pd_test_plugin"):
        get_executor("nope")


def test_plugin_that_fails_to_load_is_a_clear_error(plugin_path):
    with pytest.raises(ExecutorError, match=re.escape(
            "Executor plugin 'pd_test_broken' (pd_test_no_such_module:make) failed to load: "
            "ModuleNotFoundError")):
        get_executor("pd_test_broken")


def test_no_plugin_without_its_distribution():
    assert "pd_test_plugin" not in known_executors()
