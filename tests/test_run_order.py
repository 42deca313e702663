"""Where the executor runs one thing at a time, tasks run in ``flow.sorted_tasks()`` order
(Prefect 1's: sweeps over the tasks in the order they joined the flow) and mapped children
in map-index order, as Prefect 1's LocalExecutor does (checked against Prefect 1.4.1)."""

from __future__ import annotations

import random

import pytest

from prefect_dask import Flow, task, unmapped
from prefect_dask.executors import LocalDaskExecutor, LocalExecutor

ONE_AT_A_TIME = {
    "local": LocalExecutor,
    "sync": lambda: LocalDaskExecutor(scheduler="sync"),
    "threads-1": lambda: LocalDaskExecutor(scheduler="threads", num_workers=1),
}


@pytest.fixture(params=sorted(ONE_AT_A_TIME))
def serial(request):
    return ONE_AT_A_TIME[request.param]()


def recording_tasks():
    seen: list = []

    @task
    def show(x):
        seen.append(x)
        return x

    @task
    def both(xs):
        return xs

    return seen, show, both


def test_children_run_in_map_index_order(serial):
    seen, show, _ = recording_tasks()
    with Flow("children in order") as flow:
        show.map(list(range(12)))
    assert flow.run(executor=serial).is_successful()
    assert seen == list(range(12))


def test_tasks_run_in_sorted_tasks_order_and_each_mapped_task_whole(serial):
    seen, show, both = recording_tasks()
    with Flow("tasks in order") as flow:
        pair = both([show("a"), show("b")])
        ms = show.map(["m0", "m1", "m2"])
        show.map(ms)                       # a second mapped stage over the first
        show(pair)
    assert flow.run(executor=serial).is_successful()
    assert seen == ["a", "b", "m0", "m1", "m2", "m0", "m1", "m2", ["a", "b"]]


def test_sorted_tasks_sweeps_in_the_order_tasks_joined_the_flow():
    """A task added before its upstream task waits for the next sweep (Prefect 1's rule)."""
    _, show, _ = recording_tasks()
    flow = Flow("sweeps")
    late, early, free = show.copy(name="late"), show.copy(name="early"), show.copy(name="free")
    flow.add_task(late)
    flow.add_task(early)
    flow.add_task(free)
    flow.set_dependencies(late, upstream_tasks=[early])
    assert [t.name for t in flow.sorted_tasks()] == ["early", "free", "late"]


def test_seeded_random_draws_go_to_children_in_index_order(serial):
    """Children drawing from one seeded generator get its numbers in map-index order, as
    under Prefect 1, so a seeded program gives the same values on both."""
    draws: list = []

    @task
    def draw(i, rng):
        draws.append((i, rng.random()))

    with Flow("seeded") as flow:
        draw.map(list(range(5)), unmapped(random.Random(7)))
    flow.run(executor=serial)
    expected = random.Random(7)
    assert draws == [(i, expected.random()) for i in range(5)]
