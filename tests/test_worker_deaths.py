"""A dying worker is a state on the process pool too: pool processes killed for real.

A task run that kills its process (``os._exit``) breaks the whole process pool; the
executor reports the nodes that were running, and the same recovery machine as on a
Dask cluster (``engine/recovery.py``) retries them, runs suspects alone, or ends them
Crashed.  The run record is closed however the run ends.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cluster_helpers import append_line, pickle_by_value, read_lines, takes_ctrl_c
from prefect_dask import Flow, context, task, unmapped
from prefect_dask.executors import LocalDaskExecutor
from prefect_dask.store.records import list_runs
from prefect_dask.states import Crashed

pickle_by_value(__name__)


def pool() -> LocalDaskExecutor:
    return LocalDaskExecutor(scheduler="processes", num_workers=2)


@task(map_batch_size=1)
def die_at(i, killer, marker, retries_seen=None):
    """Child ``killer`` kills its pool process once a sibling has started beside it (so
    the pool dies with two runs in flight); the others write their index and nap."""
    append_line(marker, str(i))
    if i == killer:
        deadline = time.monotonic() + 20
        while len(read_lines(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os._exit(1)
    time.sleep(0.2)
    return i


@task
def count(xs):
    return len(xs)


def by_name(flow, name):
    return flow.get_tasks(name=name)[0]


@pytest.mark.slow
def test_a_child_that_kills_its_pool_process_ends_crashed_and_no_sibling_is_charged(tmp_path):
    marker = tmp_path / "marker"
    with Flow("pool-death") as flow:
        count(die_at.map(list(range(5)), unmapped(1), unmapped(str(marker))))
    state = flow.run(executor=pool(), progress=False)
    children = state.result[by_name(flow, "die_at")].map_states
    assert [type(c).__name__ for c in children] == \
        ["Success", "Crashed", "Success", "Success", "Success"]
    killed = children[1]
    assert isinstance(killed, Crashed) and killed.attempts == 1
    assert "die_at[1]" in killed.message and "worker process" in killed.message \
        and "os._exit" in killed.message
    assert state.is_failed()
    assert state.result[by_name(flow, "count")].is_failed()     # its trigger saw the crash
    record = list_runs()[0]
    assert record["state"] == "Failed" and record["finished"] is not None
    kids = record["tasks"][by_name(flow, "die_at").slug]["children"]
    assert kids[1]["state"] == "Crashed" and kids[0]["state"] == "Success"


@task(max_retries=2, retry_delay=0)
def dies_twice(marker):
    append_line(marker, "attempt")
    if len(read_lines(marker)) < 3:
        os._exit(1)
    return "third time"


@task
def bystander():
    return "fine"


@pytest.mark.slow
def test_a_death_is_an_attempt_and_retries_run_it_again_on_a_new_pool(tmp_path):
    marker = tmp_path / "marker"
    with Flow("pool-retry") as flow:
        bystander(upstream_tasks=[dies_twice(str(marker))])   # runs on the new pool
    state = flow.run(executor=pool(), progress=False)
    final = state.result[by_name(flow, "dies_twice")]
    assert final.is_successful() and final.result == "third time"
    assert final.attempts == 3                       # two deaths, then the run that worked
    assert state.result[by_name(flow, "bystander")].result == "fine"
    assert state.is_successful()


@task
def fails():
    raise ValueError("raised in the task")


def test_an_error_raised_in_the_driver_still_ends_the_record_and_closes_the_bar(executor):
    """raise_on_exception makes flow.run raise the task's error from the driver: the record
    still gets its end entry and the progress bar gives the console back."""
    with Flow("driver-raises") as flow:
        fails()
    handlers = list(logging.getLogger("prefect_dask").handlers)
    with context(raise_on_exception=True):
        with pytest.raises(ValueError, match="raised in the task"):
            flow.run(executor=executor, progress=True)
    assert logging.getLogger("prefect_dask").handlers == handlers
    record = list_runs()[0]
    assert record["state"] == "Failed" and record["finished"] is not None
    assert "ValueError('raised in the task')" in record["message"]


BYSTANDER_SCRIPT = textwrap.dedent('''
    import multiprocessing, os, signal, sys, threading, time
    from prefect_dask import Flow, task
    from prefect_dask.executors import LocalDaskExecutor

    @task(map_batch_size=1)
    def nap(i):
        open(sys.argv[1], "a").write(f"{i}\\n")
        time.sleep(60)

    def interrupt():
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.02)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    if __name__ == "__main__":
        other = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
        other.start()          # a process of the program's own, named SpawnProcess-1
        with Flow("ctrl-c") as flow:
            nap.map(list(range(4)))
        threading.Thread(target=interrupt, daemon=True).start()
        try:
            flow.run(executor=LocalDaskExecutor(scheduler="processes", num_workers=2),
                     progress=False)
        except KeyboardInterrupt:
            print("bystander alive:", other.is_alive(), other.name, flush=True)
        other.kill()
        other.join()
''')


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_pools_processes_only(tmp_path):
    script = tmp_path / "bystander.py"
    script.write_text(BYSTANDER_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "marker")],
                          capture_output=True, text=True, timeout=90, cwd=tmp_path,
                          preexec_fn=takes_ctrl_c)
    assert "bystander alive: True SpawnProcess" in proc.stdout, proc.stderr[-3000:]
