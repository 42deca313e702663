"""How mapped tasks execute (issue 3): batching, depth-first order, scale.

Semantics are in ``test_mapping.py``.  Here: ``map_batch_size`` (1, an int,
None) never changes an outcome; a chain of mapped tasks of known width runs
depth-first on threads, shown from recorded events (never from timings); and
a map of 100,000 children completes with every child's State.
"""

from __future__ import annotations

import threading

import pytest

from prefect_dask import Flow, Parameter, context, flatten, signals, task, triggers, unmapped
from prefect_dask.errors import TaskDefinitionError
from prefect_dask.executors import LocalDaskExecutor
from prefect_dask.states import Mapped


@task
def stage_one(x):
    if x % 7 == 3:
        raise ValueError(f"stage one rejects {x}")
    if x % 7 == 5:
        raise signals.SKIP(f"stage one skips {x}")
    return x


@task
def stage_two(x, y, k):
    return [x + y + k] * (x % 3)


@task
def stage_three(x):
    return (x, context.map_index, context.task_full_name)


@task
def expand(n):
    return list(range(n % 4))


@task
def ident(x):
    return x


@task
def collect(xs):
    return list(xs)


@task(trigger=triggers.all_finished, skip_on_upstream_skip=False)
def collect_all(xs):
    return list(xs)


def run_pipeline(executor, sizes: tuple, width: int) -> dict:
    """A mapped pipeline with zips, failures, skips, flatten and reduces; per-task summary."""
    b1, b2, b3, b4 = sizes
    with Flow("batching") as flow:
        offsets = Parameter("offsets")
        one = stage_one.map(list(range(width)), task_args={"map_batch_size": b1})
        # zip: offsets has width - 2 items, so two children fewer (shortest wins)
        two = stage_two.map(one, offsets, k=unmapped(1000), task_args={"map_batch_size": b2})
        lists = expand.map(list(range(width)), task_args={"map_batch_size": b3})
        three = stage_three.map(flatten(lists), task_args={"map_batch_size": b4})
        again = ident.map(three, task_args={"map_batch_size": b1})
        reduce_default = collect(two)
        reduce_all = collect_all(two)
        reduce_flat = collect(again)
    state = flow.run(parameters={"offsets": [100 * i for i in range(width - 2)]},
                     executor=executor)
    named = {"one": one, "two": two, "lists": lists, "three": three, "again": again,
             "reduce_default": reduce_default, "reduce_all": reduce_all,
             "reduce_flat": reduce_flat}
    out = {"flow": type(state).__name__}
    for name, t in named.items():
        s = state.result[t]
        entry = {"state": type(s).__name__, "result": repr(s.result)}
        if isinstance(s, Mapped):
            entry["children"] = [(type(c).__name__, repr(c.result), c.task_name, c.map_index,
                                  c.attempts) for c in s.map_states]
        out[name] = entry
    return out


SIZES = [
    (1, 1, 1, 1),
    (3, 3, 3, 3),
    (4, 3, 7, 2),          # misaligned batches between chained stages
    (None, None, None, None),
    (None, 2, None, 5),
    (1000, 1000, 1000, 1000),
]


@pytest.mark.parametrize("width", [10, 23, 100])
def test_batch_size_never_changes_the_outcome(executor, width):
    expected = run_pipeline(executor, (1, 1, 1, 1), width)
    for sizes in SIZES[1:]:
        assert run_pipeline(executor, sizes, width) == expected, sizes


def test_batched_pipeline_outcome_is_pinned(executor):
    got = run_pipeline(executor, (3, 4, 3, 4), 10)
    one_kinds = [c[0] for c in got["one"]["children"]]
    assert one_kinds == ["Success", "Success", "Success", "Failed", "Success", "Skipped",
                         "Success", "Success", "Success", "Success"]
    two = got["two"]["children"]
    assert len(two) == 8                                   # zipped with 8 offsets
    assert [c[0] for c in two] == ["Success", "Success", "Success", "TriggerFailed", "Success",
                                   "Skipped", "Success", "Success"]
    assert two[4][1] == repr([1404])                       # 4 + 400 + 1000, 4 % 3 == 1 times
    assert two[2][1] == repr([1202, 1202])
    assert [c[3] for c in two] == list(range(8))
    # a skipped child skips a default reduce before its trigger is checked (as Prefect 1)
    assert got["reduce_default"]["state"] == "Skipped"
    assert got["reduce_all"]["state"] == "Success"
    assert got["reduce_all"]["result"] == repr([[], [1101], [1202, 1202], signals.TRIGGERFAIL(
        'Trigger was "all_successful" but some of the upstream tasks failed.'), [1404], None,
        [], [1707]])
    # flatten of [[], [0], [0, 1], [0, 1, 2], [], [0], ...] for n in range(10)
    flat = [v for n in range(10) for v in range(n % 4)]
    three = got["three"]["children"]
    assert [c[1] for c in three] == [repr((v, i, f"stage_three[{i}]")) for i, v in enumerate(flat)]
    assert got["reduce_flat"]["result"] == repr([(v, i, f"stage_three[{i}]")
                                                  for i, v in enumerate(flat)])
    assert got["flow"] == "Success"    # the reference (terminal) tasks did not fail


def test_a_batch_holding_a_failing_child_still_runs_its_siblings(executor):
    @task(map_batch_size=5)
    def first_fails(x):
        if x == 0:
            raise ValueError("first")
        return x

    with Flow("batch-siblings") as flow:
        a = first_fails.map(list(range(12)))
    parent = flow.run(executor=executor).result[a]
    assert [type(c).__name__ for c in parent.map_states] == ["Failed"] + ["Success"] * 11
    assert [c.result for c in parent.map_states][1:] == list(range(1, 12))


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4"])
def test_map_batch_size_must_be_none_or_a_positive_int(bad):
    with pytest.raises(TaskDefinitionError, match=rf"map_batch_size={bad!r} must be None"):
        task(ident.run, map_batch_size=bad)


# -- depth-first on threads -----------------------------------------------------------------

N_DEPTH = 8


@pytest.mark.parametrize("source", ["constant", "parameter", "upstream"])
def test_mapped_chain_runs_depth_first_on_threads(rec, source):
    """Element 0 passes stage 2 while the last element is still in stage 1.

    The last element's stage-1 child blocks until stage-2 child 0 has run; with
    a breadth-first schedule (stage 2 only after all of stage 1) it would wait
    the full timeout and record that it timed out.
    """
    stage_two_child_zero_ran = threading.Event()
    last = N_DEPTH - 1

    @task(map_batch_size=1)
    def first(x):
        rec.add(("first started", x))
        if x == last:
            rec.add(("last waited", stage_two_child_zero_ran.wait(timeout=10)))
        rec.add(("first finished", x))
        return x

    @task(map_batch_size=1)
    def second(x):
        rec.add(("second", context.map_index))
        if context.map_index == 0:
            stage_two_child_zero_ran.set()
        return 10 * x

    @task
    def elements():
        return list(range(N_DEPTH))

    with Flow("depth-first") as flow:
        if source == "constant":
            xs = list(range(N_DEPTH))
        elif source == "parameter":
            xs = Parameter("xs", default=list(range(N_DEPTH)))
        else:
            xs = elements()
        one = first.map(xs)
        two = second.map(one)
    state = flow.run(executor=LocalDaskExecutor(scheduler="threads", num_workers=2))

    events = rec.items
    assert ("last waited", True) in events, events
    assert events.index(("second", 0)) < events.index(("first finished", last)), events
    assert state.is_successful()
    assert [c.result for c in state.result[two].map_states] == [10 * i for i in range(N_DEPTH)]


def test_depth_first_child_i_of_stage_two_runs_right_after_child_i_of_stage_one(rec):
    """With one batch per child, stage-2 child i never waits for stage-1 child j > i to finish.

    Stage-1 child j (j > 0) blocks until stage-2 child j - 1 has run; this chain of
    waits can only complete if each element goes through stage 2 as soon as its own
    stage-1 child is done.
    """
    n = 6
    done = [threading.Event() for _ in range(n)]

    @task(map_batch_size=1)
    def first(x):
        if x > 0:
            rec.add(("first waited", x, done[x - 1].wait(timeout=10)))
        rec.add(("first", x))
        return x

    @task(map_batch_size=1)
    def second(x):
        rec.add(("second", x))
        done[x].set()
        return x

    with Flow("depth-first-chain") as flow:
        second.map(first.map(list(range(n))))
    state = flow.run(executor=LocalDaskExecutor(scheduler="threads", num_workers=n + 1))
    events = rec.items
    waits = [e for e in events if e[0] == "first waited"]
    assert waits == [("first waited", x, True) for x in range(1, n)], events
    for x in range(1, n):
        assert events.index(("second", x - 1)) < events.index(("first", x)), events
    assert state.is_successful()


# -- scale ----------------------------------------------------------------------------------

@task
def plus_one(x):
    return x + 1


@task
def total(xs):
    return sum(xs)


@pytest.mark.slow
def test_map_of_100_000_children(executor):
    n = 100_000
    with Flow("hundred-thousand") as flow:
        a = plus_one.map(list(range(n)))
        t = total(a)
    state = flow.run(executor=executor)
    assert state.is_successful()
    parent = state.result[a]
    assert isinstance(parent, Mapped)
    assert len(parent.map_states) == n
    assert state.result[t].result == n * (n + 1) // 2
    for i in (0, 1, 4_999, 50_000, n - 1):
        child = parent.map_states[i]
        assert (child.result, child.map_index, child.task_name) == (i + 1, i, "plus_one")
        assert child.is_successful()
    assert sum(1 for c in parent.map_states if c.is_successful()) == n
