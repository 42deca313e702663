"""The same flows on every executor, and on real Dask clusters (issue 4).

The first half is a contract subset on ``any_executor``: local, threads,
processes (a process pool) and dask (the session LocalCluster with worker
processes, by address).  Tasks are module-level and this module is pickled by
value, so process and cluster workers never need to import it; anything a
task must report back goes through files under ``tmp_path``.

The second half starts real clusters: ``dask scheduler`` plus two ``dask
worker`` processes connected by address, a TLS cluster, and clusters that
DaskExecutor starts and stops itself.
"""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import timedelta

import pytest

from cluster_helpers import (append_line, dask_processes, intervals, late_worker, overlaps,
                             pickle_by_value, read_lines, tls_security, wait_gone)
from prefect_dask import (Flow, Parameter, cache_validators, case, flatten, merge, signals, task,
                          triggers, unmapped)
from tasks import one, inc, add
from prefect_dask.errors import ExecutorError
from prefect_dask.executors import DaskExecutor, LocalExecutor
from prefect_dask.states import Cached, Mapped, Skipped, Success

pickle_by_value(__name__)

# dashboard_address=None still binds the scheduler's HTTP server to port 8787; a random port
# keeps tests from meeting any other cluster on this machine.
NO_HTTP_PORT = {"dashboard_address": ":0"}


def run(flow, executor, **kwargs):
    """Run ``flow`` on ``executor``; every task must end in a finished state."""
    state = flow.run(executor=executor, **kwargs)
    assert state.is_finished(), state
    assert all(s.is_finished() for s in state.result.values()), state.result
    return state


def kinds(state) -> list[str]:
    return [type(c).__name__ for c in state.map_states]


# -- tasks (module level, pickled by value) ------------------------------------------

@task
def double(x):
    return 2 * x


@task
def total(xs):
    return sum(xs)


@task
def upto(n):
    return list(range(n))


@task
def logged(log, what, value):
    """Record ``what`` in ``log``, return ``value``."""
    append_line(log, what)
    return value


@task
def div(x):
    return 12 // x


@task(trigger=triggers.all_finished)
def count_ok(xs):
    return sum(1 for x in xs if not isinstance(x, BaseException))


@task(max_retries=2, retry_delay=timedelta(0))
def flaky(log, key, fail_times):
    """Fail the first ``fail_times`` attempts for ``key`` (counted in ``log``)."""
    append_line(log, str(key))
    if read_lines(log).count(str(key)) <= fail_times:
        raise RuntimeError(f"attempt failed for {key}")
    return key


@task
def skipper():
    raise signals.SKIP("nothing to do")


@task(skip_on_upstream_skip=False)
def runs_anyway(x):
    return f"ran after {type(x).__name__}"     # a skipped task's result is its SKIP signal


@task
def label(x):
    return f"branch {x}"


@task(cache_for=timedelta(hours=1), cache_validator=cache_validators.all_inputs)
def expensive(log, x):
    append_line(log, f"computed {x}")
    return x * 10


@task(tags=["db"], map_batch_size=1)
def limited(log, i):
    append_line(log, f"start {i}")
    time.sleep(0.05)
    append_line(log, f"end {i}")
    return i


@task(map_batch_size=1)
def meet(log, i, n):
    """Arrive at a barrier of ``n`` children kept in ``log``; True if all came within 5 s."""
    append_line(log, f"arrive {i}")
    deadline = time.monotonic() + 5
    while len(read_lines(log)) < n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@task(map_batch_size=1)   # one Dask task per child
def where(i):
    """The address of the Dask worker running this child (after a short nap)."""
    from distributed import get_worker

    time.sleep(0.2)
    return get_worker().address


@task(tags=["dask-resource:GPU=1"], map_batch_size=1)
def on_gpu(i):
    """The address of the Dask worker running this child (a GPU worker, by Prefect 1's tag)."""
    from distributed import get_worker

    return get_worker().address


@task(resources={"GPU": 1}, map_batch_size=1)
def on_gpu_too(i):
    from distributed import get_worker

    return get_worker().address


@task(tags=["dask-resource:GPU=1"])
def needs_gpu(x):
    return x * 2


@task(map_batch_size=1)
def step(log, name, x):
    append_line(log, f"{name} {x}")
    return x


@task(map_batch_size=1)
def blob(i):
    return bytes(2**20)


@task(map_batch_size=1)
def blob_size(b):
    return len(b)


@task
def blobs_left(sizes, prefix):
    """Keys of ``prefix`` still in cluster memory, waiting up to 10 s for them to go."""
    from distributed import get_client

    deadline = time.monotonic() + 10
    while True:
        left = sorted(str(k) for k, where in get_client().who_has().items()
                      if where and str(k).startswith(prefix))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@task
def worker_pid(x):
    from distributed import get_worker

    return os.getpid(), get_worker().address


# -- the contract subset on every executor ---------------------------------------------

@task
def pid(i):
    return os.getpid()


def test_tasks_run_where_the_executor_says(any_executor, request):
    """A sanity check of the fixture: processes and dask really leave this process, and
    dask runs on the session cluster's worker processes."""
    with Flow("where") as flow:
        p = pid.map(list(range(4)))
    state = run(flow, any_executor)
    pids = set(state.result[p].result)
    if not getattr(any_executor, "needs_pickle", False):
        assert pids == {os.getpid()}
        return
    assert os.getpid() not in pids
    if isinstance(any_executor, DaskExecutor):
        cluster = request.getfixturevalue("dask_cluster")
        assert any_executor.address == cluster.scheduler_address
        assert pids <= {w.process.pid for w in cluster.workers.values()}

def test_independent_children_run_at_the_same_time(any_executor, tmp_path, request):
    """Mapped children in separate batches meet at a file barrier: they run concurrently."""
    if isinstance(any_executor, LocalExecutor):
        pytest.skip("the local executor runs one task at a time by design")
    n = 2                   # every executor here runs at least 2 tasks at once
    log = str(tmp_path / "log")
    with Flow("barrier") as flow:
        met = meet.map(unmapped(log), list(range(n)), unmapped(n))
    state = run(flow, any_executor)
    assert list(state.result[met].result) == [True] * n, read_lines(log)


def test_linear_chain(any_executor):
    with Flow("chain") as flow:
        a = one()
        b = inc(a)
        c = inc(b)
    state = run(flow, any_executor)
    assert type(state) is Success
    assert {t: s.result for t, s in state.result.items()} == {a: 1, b: 2, c: 3}
    assert all(type(s) is Success for s in state.result.values())


def test_diamond_runs_the_shared_upstream_once(any_executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("diamond") as flow:
        s = logged(log, "source", 10)
        j = add(inc(s), double(s))
    state = run(flow, any_executor)
    assert state.is_successful()
    assert state.result[j].result == 31
    assert read_lines(log) == ["source"]


def test_mapped_chain_and_reduce(any_executor):
    with Flow("mapped") as flow:
        xs = upto(10)                    # width known only once upto ran: two stages
        a = inc.map(xs)
        b = double.map(a)
        t = total(b)
    state = run(flow, any_executor)
    assert state.is_successful()
    assert isinstance(state.result[b], Mapped)
    assert [c.result for c in state.result[b].map_states] == [2 * (i + 1) for i in range(10)]
    assert [c.map_index for c in state.result[b].map_states] == list(range(10))
    assert kinds(state.result[a]) == ["Success"] * 10
    assert state.result[t].result == 110


def count_children(task, old, new):
    """A parent's state handler: it runs before the children (as in Prefect 1, it sees
    none of them); the state it returns is the parent's, with its children added."""
    if isinstance(new, Mapped):
        return new.replace(message=f"mapping, {len(new.map_states)} children yet")
    return new


@task(state_handlers=[count_children], map_batch_size=7)
def counted_inc(x):
    return x + 1


@pytest.mark.parametrize("read_after", [False, True])
def test_mapped_parent_keeps_its_handlers_state_and_its_children(any_executor, read_after):
    """Whether a later task reads the parent (it then runs where it is read) or not (on a
    cluster it is then gathered on the driver, issue 14 item 7), it ends in the state its
    handler returned before its children ran, and holds them all."""
    with Flow("parent handler") as flow:
        a = counted_inc.map(list(range(40)))
        if read_after:
            t = total(a)
    state = run(flow, any_executor)
    parent = state.result[a]
    assert isinstance(parent, Mapped) and parent.message == "mapping, 0 children yet"
    assert parent.result == list(range(1, 41))
    assert [c.map_index for c in parent.map_states] == list(range(40))
    if read_after:
        assert state.result[t].result == 820


def test_mapped_over_a_constant_runs_in_one_stage(any_executor):
    with Flow("constant map") as flow:
        b = double.map(inc.map([1, 2, 3]))
    state = run(flow, any_executor)
    assert list(state.result[b].result) == [4, 6, 8]


class Arrival:
    """A list element that notes, in a file, each process it is unpickled in."""

    def __init__(self, i, log):
        self.i, self.log = i, log

    def __reduce__(self):
        return (_arrive, (self.i, self.log))


def _arrive(i, log):
    append_line(log, str(os.getpid()))
    return Arrival(i, log)


@task
def element_index(x):
    time.sleep(0.002)   # long enough that both workers take batches
    return x.i


@pytest.mark.parametrize("name", ["processes", "dask"])
def test_each_element_of_a_mapped_over_list_travels_once(name, tmp_path):
    """A list the driver holds is cut into the batches' parts: each batch carries its own
    elements, so no worker (or pool call) receives the whole list."""
    from conftest import EXECUTORS

    log = tmp_path / "arrivals"
    n = 400
    with Flow("parts") as flow:
        out = element_index.map([Arrival(i, str(log)) for i in range(n)])
    state = run(flow, EXECUTORS[name]())
    assert state.result[out].result == list(range(n))
    arrivals = [int(pid) for pid in read_lines(log) if int(pid) != os.getpid()]
    assert len(set(arrivals)) == 2, arrivals      # both workers ran batches
    # the whole list sent to each worker would be 2n arrivals; each part once is n (a
    # batch a Dask worker stole from the other may arrive twice)
    assert n <= len(arrivals) < 1.5 * n, len(arrivals)


def test_failing_child_and_all_finished_reduce(any_executor):
    with Flow("one bad child") as flow:
        q = div.map([1, 2, 0, 4])
        n = count_ok(q)
        after = inc.map(q)
    state = run(flow, any_executor)
    assert kinds(state.result[q]) == ["Success", "Success", "Failed", "Success"]
    bad = state.result[q].map_states[2]
    assert isinstance(bad.result, ZeroDivisionError)
    assert "ZeroDivisionError" in bad.message
    assert state.result[n].result == 3            # all_finished: the reduce ran anyway
    assert kinds(state.result[after]) == ["Success", "Success", "TriggerFailed", "Success"]
    assert state.is_failed()                       # a child of a terminal task failed


def test_retries_counted_in_a_file(any_executor, tmp_path):
    log = str(tmp_path / "attempts")
    with Flow("retries") as flow:
        single = flaky(log, "single", 2)                          # fails twice, then succeeds
        children = flaky.map(unmapped(log), ["a", "b", "c"], [0, 1, 3])
    state = run(flow, any_executor)
    lines = read_lines(log)
    assert lines.count("single") == 3
    assert state.result[single].result == "single"
    assert state.result[single].attempts == 3
    assert kinds(state.result[children]) == ["Success", "Success", "Failed"]
    assert [lines.count(k) for k in "abc"] == [1, 2, 3]          # c: 1 run + 2 retries, no more
    assert [c.attempts for c in state.result[children].map_states] == [1, 2, 3]


def test_skip_propagates(any_executor):
    with Flow("skips") as flow:
        s = skipper()
        skipped = inc(s)
        further = double(skipped)
        ran = runs_anyway(s)
    state = run(flow, any_executor)
    assert type(state.result[s]) is Skipped
    assert isinstance(state.result[skipped], Skipped)
    assert isinstance(state.result[further], Skipped)
    assert state.result[ran].result == "ran after SKIP"
    assert state.is_successful()


@pytest.mark.parametrize("flag, expected", [(True, "branch yes"), (False, "branch no")])
def test_case_and_merge(any_executor, flag, expected):
    with Flow("case") as flow:
        cond = Parameter("cond")
        with case(cond, True):
            yes = label("yes")
        with case(cond, False):
            no = label("no")
        m = merge(yes, no)
    state = run(flow, any_executor, parameters={"cond": flag})
    assert state.result[m].result == expected
    assert isinstance(state.result[no if flag else yes], Skipped)


def test_parameters(any_executor):
    with Flow("params") as flow:
        n = Parameter("n", default=3)
        xs = Parameter("xs")
        y = add(inc(n), n)
        ys = add.map(xs, unmapped(n))
    state = run(flow, any_executor, parameters={"xs": [1, 2]})
    assert state.result[y].result == 7
    assert list(state.result[ys].result) == [4, 5]
    state = run(flow, any_executor, parameters={"n": 10, "xs": []})
    assert state.result[y].result == 21
    assert list(state.result[ys].result) == []


def test_cache_holds_across_two_runs(any_executor, tmp_path, monkeypatch):
    # PREFECT_DASK_HOME is read in this process when the run starts; workers get the
    # cache root in the run's info, so a cluster's workers need not see the variable.
    monkeypatch.setenv("PREFECT_DASK_HOME", str(tmp_path / "home"))
    log = str(tmp_path / "log")
    with Flow("cached") as flow:
        single = expensive(log, 1)
        children = expensive.map(unmapped(log), [2, 3])
    first = run(flow, any_executor)
    second = run(flow, any_executor)
    assert sorted(read_lines(log)) == ["computed 1", "computed 2", "computed 3"]
    assert second.result[single].result == 10
    assert isinstance(second.result[single], Cached)
    assert list(second.result[children].result) == [20, 30]
    assert kinds(second.result[children]) == ["Cached", "Cached"]
    assert first.is_successful() and second.is_successful()
    assert any((tmp_path / "home" / "cache").iterdir())      # the cache is where HOME says


def test_concurrency_limit_of_one_never_overlaps(any_executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("limited") as flow:
        xs = limited.map(unmapped(log), list(range(6)))
    state = run(flow, any_executor, concurrency_limits={"db": 1})
    assert list(state.result[xs].result) == list(range(6))
    lines = read_lines(log)
    assert len(intervals(lines)) == 6          # every child started and ended once
    assert overlaps(lines) == 1, lines         # never two at once


@pytest.mark.parametrize("name", ["local", "threads", "processes"])
def test_worker_resources_are_ignored_without_workers_to_choose(name):
    """A Prefect 1 flow tagged dask-resource:... runs unchanged on the local executors."""
    with Flow("resources here") as flow:
        out = needs_gpu.map([1, 2, 3])
    state = run(flow, name)
    assert state.is_successful(), state.result
    assert state.result[out].result == [2, 4, 6]


@task
def classify(i):
    """i * i, but a failure for i % 7 == 3 and a skip for i % 11 == 5."""
    if i % 7 == 3:
        raise ValueError(f"bad {i}")
    if i % 11 == 5:
        raise signals.SKIP(f"skip {i}")
    return i * i


def test_many_separate_tasks_each_keep_their_own_state(any_executor):
    """70 independent single tasks (run in group nodes where there are more than the
    workers take at once): each ends in its own state, fan-in and later stages read them."""
    with Flow("separate") as flow:
        parts = [classify(i) for i in range(70)]
        n = total([t for i, t in enumerate(parts) if i % 7 != 3 and i % 11 != 5])
        later = add.map(upto(3), unmapped(parts[4]))      # a later stage reads one of them
    state = run(flow, any_executor)
    for i, t in enumerate(parts):
        s = state.result[t]
        if i % 7 == 3:
            assert s.is_failed() and str(s.result) == f"bad {i}", s
        elif i % 11 == 5:
            assert s.is_skipped(), s
        else:
            assert type(s) is Success and s.result == i * i, s
    assert state.result[n].result == sum(i * i for i in range(70) if i % 7 != 3 and i % 11 != 5)
    assert state.result[later].result == [16, 17, 18]


# -- real clusters ---------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(120)
def test_mapped_chain_runs_depth_first_on_a_cluster(tmp_path):
    """One worker thread, a chain of three mapped tasks: elements go through the whole
    chain in order, a few at a time (the scheduler hands a worker two tasks at once), so
    element i is through before element i + 3 starts and memory stays small."""
    log = str(tmp_path / "order")
    n = 12
    with Flow("depth first") as flow:
        a = step.map(unmapped(log), unmapped("a"), list(range(n)))
        b = step.map(unmapped(log), unmapped("b"), a)
        step.map(unmapped(log), unmapped("c"), b)
    run(flow, DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 1,
                                           "processes": True, **NO_HTTP_PORT}))
    order = read_lines(log)
    assert sorted(order) == sorted(f"{name} {i}" for i in range(n) for name in "abc")
    for i in range(n - 3):
        assert order.index(f"c {i}") < order.index(f"a {i + 3}"), order


def test_stage_data_is_released_once_its_consumers_ran(dask_cluster):
    """Children's results that nothing later reads leave cluster memory during the run."""
    with Flow("release") as flow:
        blobs = blob.map(list(range(4)))
        sizes = blob_size.map(blobs)
        left = blobs_left(sizes, blobs.slug)
    state = run(flow, DaskExecutor(address=dask_cluster.scheduler_address))
    assert state.result[sizes].result == [2**20] * 4
    assert state.result[left].result == []


def test_big_results_come_back_whole(dask_cluster):
    """Children's results of more than DaskExecutor.FETCH_BYTES in all come back intact
    (fetched in several requests)."""
    with Flow("big results") as flow:
        blobs = blob.map(list(range(40)))
    state = run(flow, DaskExecutor(address=dask_cluster.scheduler_address))
    assert state.is_successful()
    assert [len(b) for b in state.result[blobs].result] == [2**20] * 40
    assert [c.result == bytes(2**20) for c in state.result[blobs].map_states] == [True] * 40


@task
def positions(xs):
    """[[0], [1], ...]: one list per element of ``xs`` (for flatten, whose width waits)."""
    return [[i] for i in range(len(xs))]


@task(map_batch_size=1)
def blob_size_at(b, i):
    return len(b) + i


@task(map_batch_size=1)
def blobs_left_each(i, prefix):
    return blobs_left.run(None, prefix)


def test_data_read_by_a_later_stage_is_released_after_it(dask_cluster):
    """Stage 2 makes blobs; stage 3 (waiting for a width) reads them; stage 4 finds them
    gone from the cluster."""
    with Flow("release later") as flow:
        xs = upto(3)                                                # stage 1
        blobs = blob.map(xs)                                        # stage 2: width from xs
        sizes = blob_size_at.map(blobs, flatten(positions(blobs)))  # stage 3: waits for it
        left = blobs_left_each.map(flatten(positions(sizes)), unmapped(blobs.slug))  # 4
    state = run(flow, DaskExecutor(address=dask_cluster.scheduler_address))
    assert state.result[sizes].result == [2**20, 2**20 + 1, 2**20 + 2]
    assert state.result[left].result == [[], [], []]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_worker_resources_choose_the_worker(tmp_path):
    """Only worker w1 has GPU=1: children tagged dask-resource:GPU=1, or given
    resources={"GPU": 1}, all run there; untagged ones may run anywhere."""
    with dask_processes(tmp_path, n_workers=2, worker_args={1: ["--resources", "GPU=1"]}) \
            as address:
        from distributed import Client

        with Client(address) as client:
            gpu = [a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                   if w.get("resources", {}).get("GPU")]
        assert len(gpu) == 1
        with Flow("gpu") as flow:
            tagged = on_gpu.map(list(range(6)))
            given = on_gpu_too.map(list(range(6)))
            plain = where.map(list(range(8)))
        state = run(flow, DaskExecutor(address=address))
    assert state.is_successful(), state.result
    assert set(state.result[tagged].result) == set(gpu)
    assert set(state.result[given].result) == set(gpu)
    assert len(set(state.result[plain].result)) == 2


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_missing_worker_resource_is_named_and_the_task_waits_for_one(tmp_path, caplog):
    """No worker has GPU: a warning names the task and how to start such a worker; the run
    goes on once one joins."""
    import threading

    with Flow("waits for a gpu") as flow:
        out = needs_gpu(21)
    with dask_processes(tmp_path, n_workers=1) as address:
        result = {}
        runner = threading.Thread(target=lambda: result.setdefault(
            "state", flow.run(executor=DaskExecutor(address=address))))
        with caplog.at_level(logging.WARNING, logger="prefect_dask"):
            runner.start()
            deadline = time.monotonic() + 30
            while "no worker of the cluster has" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.1)
            assert runner.is_alive()               # waiting, not failed
            with late_worker(address, tmp_path, "gpu", "--resources", "GPU=1"):
                runner.join(60)
    assert not runner.is_alive()
    message = caplog.text
    assert "needs_gpu" in message and "GPU" in message and "--resources" in message
    assert result["state"].is_successful(), result["state"].result
    assert result["state"].result[out].result == 42



@pytest.mark.slow
@pytest.mark.timeout(120)
def test_dask_scheduler_and_workers_by_address(tmp_path):
    """``dask scheduler`` + two ``dask worker`` processes: children run on both workers."""
    from distributed import Client

    with dask_processes(tmp_path, n_workers=2) as address:
        with Client(address) as client:
            workers = set(client.scheduler_info(n_workers=-1)["workers"])
        assert len(workers) == 2
        with Flow("fan out") as flow:
            w = where.map(list(range(8)))
        state = run(flow, DaskExecutor(address=address))
        assert state.is_successful(), state.result
        assert set(state.result[w].result) == workers


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_tls_cluster_through_client_kwargs(tmp_path):
    from distributed import LocalCluster

    sec = tls_security(tmp_path)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, security=sec,
                      dashboard_address=None, scheduler_kwargs=NO_HTTP_PORT) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        with Flow("tls") as flow:
            t = total(double.map(inc.map([1, 2, 3])))
        state = run(flow, DaskExecutor(address=cluster.scheduler_address,
                                       client_kwargs={"security": sec}))
        assert state.result[t].result == 18


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_tls_address_without_security_is_a_clear_error(tmp_path):
    from distributed import LocalCluster

    sec = tls_security(tmp_path)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, security=sec,
                      dashboard_address=None, scheduler_kwargs=NO_HTTP_PORT) as cluster:
        with Flow("tls without security") as flow:
            one()
        with pytest.raises(ExecutorError, match=re.escape(repr(cluster.scheduler_address))
                           + ".*security"):
            flow.run(executor=DaskExecutor(address=cluster.scheduler_address,
                                           connect_timeout=5))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_dask_executor_with_no_arguments_starts_a_local_cluster():
    with Flow("default cluster") as flow:
        r = worker_pid.map([1, 2])
    state = run(flow, DaskExecutor())
    assert state.is_successful(), state.result
    pids = {pid for pid, _ in state.result[r].result}
    assert os.getpid() not in pids                      # worker processes, not threads here
    assert wait_gone(sorted(pids), 10) == [], "worker processes outlived the run"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_dask_executor_starts_and_closes_its_own_cluster(caplog):
    with Flow("own cluster") as flow:
        r = worker_pid.map([1, 2, 3])
    ex = DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 2,
                                      "processes": True, "dashboard_address": "127.0.0.1:0"})
    with caplog.at_level(logging.INFO, logger="prefect_dask.executors"):
        state = run(flow, ex)
    assert state.is_successful(), state.result
    assert re.search(r"Dask dashboard: http://127\.0\.0\.1:\d+/status", caplog.text), caplog.text
    (pid, address), = set(state.result[r].result)      # one worker process ran them all
    assert pid != os.getpid()
    assert wait_gone([pid], 10) == [], "the worker process outlived the run"
    assert ex.client is None


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_performance_report_is_written(tmp_path):
    pytest.importorskip("bokeh")
    report = tmp_path / "report.html"
    with Flow("reported") as flow:
        total(inc.map(list(range(20))))
    state = run(flow, DaskExecutor(cluster_kwargs={"n_workers": 1, "processes": True,
                                                   **NO_HTTP_PORT},
                                   performance_report_path=str(report)))
    assert state.is_successful()
    text = report.read_text()
    assert "<html" in text.lower() and "Dask Performance Report" in text


def test_performance_report_without_bokeh_is_a_clear_error(tmp_path, monkeypatch):
    """The scheduler (here in this process) cannot import bokeh: an error before any task
    runs, saying what to install; the cluster it started is closed."""
    import sys

    monkeypatch.setitem(sys.modules, "bokeh", None)     # `import bokeh` fails from now on
    log = tmp_path / "ran"
    with Flow("no bokeh") as flow:
        logged(str(log), "ran", 1)
    ex = DaskExecutor(cluster_kwargs={"n_workers": 1, "processes": False, **NO_HTTP_PORT},
                      performance_report_path=str(tmp_path / "report.html"))
    with pytest.raises(ExecutorError, match=r"performance_report_path=.*needs bokeh.*"
                                            r"pip install bokeh"):
        flow.run(executor=ex)
    assert not log.exists()
    assert ex.client is None and ex._cluster is None


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_cluster_class_as_an_import_string_with_adapt():
    # n_workers=0: the flow can only run if adapt(minimum=1) added a worker.
    ex = DaskExecutor(cluster_class="distributed.LocalCluster",
                      cluster_kwargs={"n_workers": 0, "processes": False, "threads_per_worker": 2,
                                      "scheduler_kwargs": NO_HTTP_PORT},
                      adapt_kwargs={"minimum": 1, "maximum": 1})
    with Flow("string class") as flow:
        t = total(inc.map([1, 2, 3]))
    state = run(flow, ex)
    assert state.result[t].result == 9


@pytest.mark.parametrize("spec", ["no_such_package_xyz.Cluster", "distributed.NoSuchCluster",
                                  "LocalCluster"])
def test_unknown_cluster_class_is_a_clear_error(spec, tmp_path):
    log = str(tmp_path / "log")
    with Flow("bad class") as flow:
        logged(log, "ran", 1)
    with pytest.raises(ExecutorError, match=rf"cluster_class='{spec}'.*cannot import it.*"
                                            r"'package\.module\.ClassName'"):
        flow.run(executor=DaskExecutor(cluster_class=spec))
    assert read_lines(log) == []


def test_address_and_cluster_class_together_is_an_error():
    with pytest.raises(ExecutorError, match="either address=.*or cluster_class="):
        DaskExecutor(address="tcp://127.0.0.1:8786", cluster_class="distributed.LocalCluster")
