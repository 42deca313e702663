"""What distinguishes the local executors, seen through flow runs."""

from __future__ import annotations

import threading

from prefect_dask import Flow, task
from prefect_dask.executors import LocalDaskExecutor, LocalExecutor


def barrier_flow(n):
    """n independent tasks that can only all finish if they run at the same time."""
    barrier = threading.Barrier(n, timeout=10)

    @task
    def meet(i):
        barrier.wait()
        return threading.get_ident()

    with Flow("barrier") as flow:
        tasks = [meet(i) for i in range(n)]
    return flow, tasks


def test_threads_run_independent_tasks_concurrently():
    flow, tasks = barrier_flow(4)
    state = flow.run(executor=LocalDaskExecutor(scheduler="threads", num_workers=4))
    assert state.is_successful(), {t: s for t, s in state.result.items()}
    assert len({state.result[t].result for t in tasks}) == 4       # four worker threads


def test_local_executor_runs_in_the_calling_thread():
    @task
    def where():
        return threading.get_ident()

    with Flow("sync") as flow:
        ws = [where() for _ in range(3)]
    state = flow.run(executor=LocalExecutor())
    assert {state.result[w].result for w in ws} == {threading.get_ident()}


def test_default_executor_is_local():
    @task
    def where():
        return threading.get_ident()

    with Flow("default") as flow:
        w = where()
    assert flow.run().result[w].result == threading.get_ident()


def test_local_dask_executor_defaults():
    ex = LocalDaskExecutor()
    assert ex.scheduler == "threads"
    assert ex.num_workers >= 1
