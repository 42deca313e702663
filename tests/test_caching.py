"""Caching (issue 5): ``cache_for``, every cache validator, ``cache_key``, per-child caches.

The cache is persistent (under ``$PREFECT_DASK_HOME/cache``), so every test
points ``PREFECT_DASK_HOME`` at its own ``tmp_path`` and runs its flow twice or
more; executions are counted with a thread-safe recorder (in-process
executors) or with a side-effect file (across processes).  Prefect 1 ends a
task with ``cache_for`` as ``Cached`` even on its first run (oracle fact h);
later runs end ``Cached`` without running the body.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from dask.base import tokenize

from prefect_dask import Flow, Parameter, cache_validators, task
from prefect_dask.cache_validators import (all_inputs, all_parameters, duration_only,
                                           never_use, partial_inputs_only,
                                           partial_parameters_only)
from prefect_dask.states import Cached, Mapped, Success

HOUR = timedelta(hours=1)


def utc(**delta):
    return datetime.datetime.now(datetime.timezone.utc) + timedelta(**delta)


def counting_flow(rec, name="cached", **task_options):
    """A flow ``p -> work(x=p)`` whose ``work`` records each execution."""

    @task(name="work", **task_options)
    def work(x):
        rec.add(("work", x))
        return x * 10

    with Flow(name) as flow:
        p = Parameter("p", default=1)
        out = work(p)
    return flow, out


# -- validators as plain functions -------------------------------------------------

def cached(**kwargs):
    kwargs.setdefault("cached_result_expiration", utc(hours=1))
    return Cached(result=1, **kwargs)


def test_never_use_rejects_even_a_fresh_entry():
    assert never_use(cached(), {}, {}) is False


def test_duration_only_checks_expiration_only():
    assert duration_only(cached(hashed_inputs={"x": tokenize(1)}), {"x": 2}, {"p": 3})
    assert not duration_only(cached(cached_result_expiration=utc(seconds=-1)), {}, {})
    assert duration_only(Cached(result=1), {}, {})  # no expiration: never expires


@pytest.mark.parametrize("validator", [
    all_inputs, all_parameters, partial_inputs_only(["x"]), partial_parameters_only(["p"]),
    partial_inputs_only(), partial_parameters_only(),
], ids=["all_inputs", "all_parameters", "partial_inputs", "partial_parameters",
        "partial_inputs_none", "partial_parameters_none"])
def test_every_validator_rejects_an_expired_entry(validator):
    stale = cached(cached_result_expiration=utc(seconds=-1),
                   hashed_inputs={"x": tokenize(1)}, cached_parameters={"p": 1})
    fresh = cached(hashed_inputs={"x": tokenize(1)}, cached_parameters={"p": 1})
    assert validator(fresh, {"x": 1}, {"p": 1})
    assert not validator(stale, {"x": 1}, {"p": 1})


def test_all_inputs_compares_every_input_token():
    state = cached(hashed_inputs={"x": tokenize(1), "y": tokenize([1, 2])})
    assert all_inputs(state, {"x": 1, "y": [1, 2]}, {})
    assert not all_inputs(state, {"x": 1, "y": [1, 3]}, {})
    assert not all_inputs(state, {"x": 1}, {})


def test_all_parameters_compares_every_parameter():
    state = cached(cached_parameters={"p": 1, "q": "a"})
    assert all_parameters(state, {"x": 99}, {"p": 1, "q": "a"})
    assert not all_parameters(state, {}, {"p": 1, "q": "b"})


def test_partial_validators_compare_only_the_named_fields():
    state = cached(hashed_inputs={"a": tokenize(1), "b": tokenize(2)},
                   cached_parameters={"p": 1, "q": 2})
    assert partial_inputs_only(["a"])(state, {"a": 1, "b": 99}, {})
    assert not partial_inputs_only(["a"])(state, {"a": 5, "b": 2}, {})
    assert partial_parameters_only(["p"])(state, {}, {"p": 1, "q": 99})
    assert not partial_parameters_only(["p"])(state, {}, {"p": 5, "q": 2})


def test_validator_names_are_prefect_1s():
    for name in ("never_use", "duration_only", "all_inputs", "all_parameters",
                 "partial_inputs_only", "partial_parameters_only"):
        assert callable(getattr(cache_validators, name))


# -- in flows, run twice -------------------------------------------------------------

def test_first_run_ends_cached_and_second_run_skips_the_body(executor, rec):
    transitions = []

    def handler(t, old, new):
        transitions.append((type(old).__name__, type(new).__name__))

    flow, out = counting_flow(rec, cache_for=HOUR, state_handlers=[handler])
    first = flow.run(executor=executor)
    assert first.is_successful()
    s1 = first.result[out]
    assert isinstance(s1, Cached) and s1.result == 10       # Prefect 1: Cached on the first run
    assert s1.message == "Task run succeeded."
    assert s1.cached_result_expiration > utc(minutes=59)
    assert transitions == [("Pending", "Running"), ("Running", "Success"), ("Success", "Cached")]

    transitions.clear()
    second = flow.run(executor=executor)
    s2 = second.result[out]
    assert isinstance(s2, Cached) and s2.result == 10
    assert s2.message == "Task run succeeded."              # Prefect 1's message, kept
    assert transitions == [("Pending", "Cached")]
    assert rec.count(("work", 1)) == 1


def test_no_cache_for_means_no_caching(executor, rec):
    flow, out = counting_flow(rec)
    for _ in range(2):
        state = flow.run(executor=executor)
        assert type(state.result[out]) is Success
    assert rec.count(("work", 1)) == 2


def test_never_use_runs_every_time(executor, rec):
    flow, out = counting_flow(rec, cache_for=HOUR, cache_validator=never_use)
    for _ in range(3):
        state = flow.run(executor=executor)
        assert state.result[out].result == 10
    assert rec.count(("work", 1)) == 3


def test_duration_only_is_the_default_and_ignores_inputs(executor, rec):
    flow, out = counting_flow(rec, cache_for=HOUR)
    assert flow.run(executor=executor, p=1).result[out].result == 10
    # Prefect 1: duration_only does not look at inputs; the old result comes back
    state = flow.run(executor=executor, p=2)
    assert isinstance(state.result[out], Cached) and state.result[out].result == 10
    assert rec.items == [("work", 1)]


def test_duration_only_expired_entry_runs_again(executor, rec, home):
    flow, out = counting_flow(rec, cache_for=timedelta(milliseconds=50),
                              cache_validator=duration_only)
    flow.run(executor=executor)
    time.sleep(0.1)
    state = flow.run(executor=executor)
    assert isinstance(state.result[out], Cached)    # newly cached, after running again
    assert rec.count(("work", 1)) == 2


def test_duration_only_expired_entry_built_by_hand_is_not_used(executor, rec, home):
    """An entry planted in the store with an expiration in the past is ignored (and removed)."""
    from prefect_dask.store.caching import CacheStore

    flow, out = counting_flow(rec, cache_for=HOUR)
    CacheStore(home / "cache").put(
        "cached/work", Cached("old", result=-1, hashed_inputs={}, cached_parameters={"p": 1},
                                    cached_result_expiration=utc(seconds=-5)))
    (planted,) = (home / "cache").rglob("*.pkl")
    state = flow.run(executor=executor)
    assert state.result[out].result == 10
    assert rec.count(("work", 1)) == 1
    assert not planted.exists()        # it was looked at (right key) and dropped as stale


def test_fresh_entry_built_by_hand_is_used(executor, rec, home):
    from prefect_dask.store.caching import CacheStore

    flow, out = counting_flow(rec, cache_for=HOUR)
    CacheStore(home / "cache").put(
        "cached/work", Cached("old", result=-1, hashed_inputs={}, cached_parameters={},
                                    cached_result_expiration=utc(minutes=5)))
    state = flow.run(executor=executor)
    assert isinstance(state.result[out], Cached) and state.result[out].result == -1
    assert rec.items == []


def test_all_inputs(executor, rec):
    flow, out = counting_flow(rec, cache_for=HOUR, cache_validator=all_inputs)
    results = [flow.run(executor=executor, p=p).result[out] for p in (1, 1, 2, 1, 2)]
    assert [s.result for s in results] == [10, 10, 20, 10, 20]
    assert all(isinstance(s, Cached) for s in results)
    assert rec.items == [("work", 1), ("work", 2)]


def test_all_parameters(executor, rec):
    @task(cache_for=HOUR, cache_validator=all_parameters)
    def stamp():
        rec.add("stamp")
        return len(rec.items)

    with Flow("params") as flow:
        out = stamp()
    flow.add_task(Parameter("p", default=1))   # parameters the task does not take
    flow.add_task(Parameter("q", default="a"))

    got = [flow.run(executor=executor, parameters=ps).result[out].result
           for ps in ({}, {"p": 1}, {"q": "b"}, {}, {"q": "b"})]
    assert got == [1, 1, 2, 1, 2]
    assert rec.count("stamp") == 2


def test_partial_inputs_only(executor, rec):
    @task(cache_for=HOUR, cache_validator=partial_inputs_only(validate_on=["a"]))
    def combine(a, b):
        rec.add((a, b))
        return a + b

    with Flow("partial-inputs") as flow:
        a, b = Parameter("a"), Parameter("b")
        out = combine(a, b)

    assert flow.run(executor=executor, a=1, b=1).result[out].result == 2
    assert flow.run(executor=executor, a=1, b=5).result[out].result == 2   # b not validated
    assert flow.run(executor=executor, a=3, b=5).result[out].result == 8   # a changed
    assert rec.items == [(1, 1), (3, 5)]


def test_partial_parameters_only(executor, rec):
    @task(cache_for=HOUR, cache_validator=partial_parameters_only(validate_on=["p"]))
    def stamp(p, q):
        rec.add((p, q))
        return (p, q)

    with Flow("partial-params") as flow:
        p, q = Parameter("p"), Parameter("q")
        out = stamp(p, q)

    assert flow.run(executor=executor, p=1, q=1).result[out].result == (1, 1)
    assert flow.run(executor=executor, p=1, q=2).result[out].result == (1, 1)
    assert flow.run(executor=executor, p=2, q=2).result[out].result == (2, 2)
    assert rec.items == [(1, 1), (2, 2)]


def test_cache_key_is_shared_between_two_tasks(executor, rec):
    """Two different tasks (in two flows) with one ``cache_key`` share entries, as in Prefect 1."""

    @task(cache_for=HOUR, cache_key="shared")
    def first():
        rec.add("first")
        return "from first"

    @task(cache_for=HOUR, cache_key="shared")
    def second():
        rec.add("second")
        return "from second"

    with Flow("one") as f1:
        a = first()
    with Flow("two") as f2:
        b = second()

    assert f1.run(executor=executor).result[a].result == "from first"
    state = f2.run(executor=executor).result[b]
    assert isinstance(state, Cached) and state.result == "from first"
    assert rec.items == ["first"]


def test_cache_key_entries_of_the_same_run_are_not_used(executor, rec):
    """As in Prefect 1, a run only sees entries from earlier runs: ``b`` (after ``a``) runs too."""

    @task(cache_for=HOUR, cache_key="k")
    def a():
        rec.add("a")
        return "a"

    @task(cache_for=HOUR, cache_key="k")
    def b(x):
        rec.add("b")
        return "b"

    with Flow("same-run") as flow:
        out = b(a())
    assert flow.run(executor=executor).result[out].result == "b"
    assert rec.items == ["a", "b"]
    # next run: both hit the oldest entry of the shared key (a's), as Prefect 1's list did
    state = flow.run(executor=executor)
    assert state.result[out].result == "a"
    assert rec.items == ["a", "b"]


def test_without_cache_key_tasks_of_other_flows_do_not_share(executor, rec):
    """The default key is ``<flow name>/<task name>`` (Prefect 1 keyed by task name only)."""

    @task(name="same", cache_for=HOUR)
    def a():
        rec.add("a")
        return "a"

    @task(name="same", cache_for=HOUR)
    def b():
        rec.add("b")
        return "b"

    with Flow("flow-a") as fa:
        ta = a()
    with Flow("flow-b") as fb:
        tb = b()
    assert fa.run(executor=executor).result[ta].result == "a"
    assert fb.run(executor=executor).result[tb].result == "b"
    assert rec.items == ["a", "b"]


def test_failed_run_is_not_cached(executor, rec):
    @task(cache_for=HOUR)
    def flaky(p):
        rec.add(p)
        if p == "fail":
            raise ValueError("no")
        return p

    with Flow("flaky") as flow:
        out = flaky(Parameter("p"))

    assert flow.run(executor=executor, p="fail").result[out].is_failed()
    state = flow.run(executor=executor, p="ok").result[out]
    assert isinstance(state, Cached) and state.result == "ok"
    assert rec.items == ["fail", "ok"]


def test_corrupted_cache_entry_is_ignored_and_the_task_runs(executor, rec, home):
    flow, out = counting_flow(rec, cache_for=HOUR)
    flow.run(executor=executor)
    (entry,) = (home / "cache").rglob("*.pkl")
    entry.write_bytes(entry.read_bytes()[:-3])
    state = flow.run(executor=executor)
    assert state.result[out].result == 10
    assert rec.count(("work", 1)) == 2


def test_cache_files_are_owner_only(executor, rec, home):
    flow, _ = counting_flow(rec, cache_for=HOUR)
    flow.run(executor=executor)
    files = [p for p in (home / "cache").rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert p.stat().st_mode & 0o077 == 0, p


def test_cache_directories_are_owner_only(executor, rec, home):
    flow, _ = counting_flow(rec, cache_for=HOUR)
    flow.run(executor=executor)
    dirs = [home, *(p for p in (home / "cache").rglob("*") if p.is_dir())]
    assert [(str(p), oct(p.stat().st_mode & 0o777)) for p in dirs
            if p.stat().st_mode & 0o077] == []


# -- mapped children ---------------------------------------------------------------

def test_mapped_children_find_entries_by_their_inputs(executor, rec):
    """As in Prefect 1, a mapped task's children share one list of entries: with all_inputs
    a child finds the entry for its own inputs, whatever its map index."""
    @task(cache_for=HOUR, cache_validator=all_inputs)
    def square(x):
        rec.add(x)
        return x * x

    with Flow("mapped-cache") as flow:
        xs = Parameter("xs")
        out = square.map(xs)

    first = flow.run(executor=executor, xs=[1, 2, 3]).result[out]
    assert isinstance(first, Mapped) and first.result == [1, 4, 9]
    assert all(isinstance(c, Cached) for c in first.map_states)
    assert sorted(rec.items) == [1, 2, 3]

    # same children cached; a new child 3 runs
    second = flow.run(executor=executor, xs=[1, 2, 3, 4]).result[out]
    assert second.result == [1, 4, 9, 16]
    assert sorted(rec.items) == [1, 2, 3, 4]

    # entries are found by inputs, not by map index: reversing the list runs nothing
    third = flow.run(executor=executor, xs=[3, 2, 1]).result[out]
    assert third.result == [9, 4, 1]
    assert sorted(rec.items) == [1, 2, 3, 4]


def test_mapped_child_cache_duration_only(executor, rec):
    @task(cache_for=HOUR)
    def ident(x):
        rec.add(x)
        return x

    with Flow("mapped-duration") as flow:
        out = ident.map([5, 6])

    flow.run(executor=executor)
    state = flow.run(executor=executor).result[out]
    assert [type(c).__name__ for c in state.map_states] == ["Cached", "Cached"]
    # Prefect 1.4.1 (recorded): with duration_only every child takes the first valid entry
    # of the task's shared list, child 0's, whatever its own input.
    assert state.result == [5, 5]
    assert sorted(rec.items) == [5, 6]


# -- across processes ------------------------------------------------------------------

FLOW_FILE = '''
import sys
from datetime import timedelta
from prefect_dask import Flow, Parameter, task

SIDE = sys.argv[1]

@task(cache_for=timedelta(hours=1))
def slow(x):
    with open(SIDE, "a") as fh:
        fh.write(f"slow {x}\\n")
    return x + 1

@task(cache_for=timedelta(hours=1))
def child(x):
    with open(SIDE, "a") as fh:
        fh.write(f"child {x}\\n")
    return x * 2

with Flow("cross-process") as flow:
    a = slow(Parameter("x", default=41))
    b = child.map([1, 2, 3])

if __name__ == "__main__":
    state = flow.run(executor=sys.argv[2])
    print(type(state.result[a]).__name__, state.result[a].result,
          [type(c).__name__ for c in state.result[b].map_states], state.result[b].result)
'''


@pytest.mark.parametrize("kind", ["local", "threads", "processes"])
def test_cache_hit_across_two_processes(tmp_path, home, kind):
    script = tmp_path / "cross.py"
    script.write_text(FLOW_FILE)
    side = tmp_path / "side.txt"
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    outs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, str(script), str(side), kind], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout.strip())
    assert outs[0] == "Cached 42 ['Cached', 'Cached', 'Cached'] [2, 4, 6]"
    # the second process hits the cache; duration_only gives every child child 0's entry
    assert outs[1] == "Cached 42 ['Cached', 'Cached', 'Cached'] [2, 2, 2]"
    assert sorted(side.read_text().splitlines()) == ["child 1", "child 2", "child 3", "slow 41"]
