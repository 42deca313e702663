"""Big results stay on the cluster: ``DaskExecutor(results_on_cluster=True)`` (issue 14).

Results of at least ``LEAVE_BYTES`` stay on the Dask workers; the driver's States hold a
``Remote`` in their place (``states.raw_result`` shows it) and reading ``.result`` fetches
that one result, as Prefect 1 read ``state.result[task].result``.  Smaller results come
back with their State.  All on the session's real LocalCluster.
"""

from __future__ import annotations

import pickle

import cloudpickle
import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import Flow, task
from prefect_dask.errors import ExecutorError
from prefect_dask.executors import DaskExecutor
from prefect_dask.executors.dask import LEAVE_BYTES
from prefect_dask.states import Mapped, Remote, raw_result

pickle_by_value(__name__)

BIG = LEAVE_BYTES * 2


def blob_of(i: int) -> bytes:
    return bytes([i % 256]) * BIG


@task
def blob(i):
    return blob_of(i)


@task
def small():
    return 7


@task
def size(blobs):
    return sum(len(b) for b in blobs)


@task
def first_bytes(b):
    return b[:1]


@task
def chunks():
    return [blob_of(i)[:LEAVE_BYTES // 4] for i in range(8)]


def left(state) -> bool:
    """Whether ``state``'s result is still on the cluster (not fetched)."""
    value = raw_result(state)
    return type(value) is Remote and not value.fetched


def big_flow():
    with Flow("big-results") as flow:
        blobs = blob.map(list(range(6)))
        n = size(blobs)
        lone, other = blob(100), blob(101)
        tiny = small()
    return flow, blobs, n, lone, other, tiny


def test_big_results_stay_on_the_cluster_and_come_one_at_a_time(dask_cluster):
    flow, blobs, n, lone, other, tiny = big_flow()
    with DaskExecutor(address=dask_cluster.scheduler_address,
                      results_on_cluster=True) as executor:
        state = flow.run(executor=executor)
        assert state.is_successful()
        results = state.result
        assert raw_result(results[tiny]) == 7 and raw_result(results[n]) == 6 * BIG
        children = results[blobs].map_states
        assert all(left(c) for c in children) and left(results[lone]) and left(results[other])
        assert children[3].result == blob_of(3)                  # fetched when read...
        assert not left(children[3]) and left(children[2])        # ...that one only
        assert results[lone].result == blob_of(100)
        assert isinstance(results[blobs], Mapped)
        assert results[blobs].result == [blob_of(i) for i in range(6)]   # all, in one go
        assert not any(left(c) for c in children)
        assert executor.client is not None                # your `with` keeps it started
    assert executor.client is None
    assert left(results[other])
    with pytest.raises(ExecutorError, match=r"task 'blob' was left on the Dask cluster .*"
                                            r"stopped.*read results before stopping it"):
        results[other].result


def test_flow_run_leaves_the_executor_started_until_close(dask_cluster):
    flow, blobs, _n, lone, _other, _tiny = big_flow()
    executor = DaskExecutor(address=dask_cluster.scheduler_address, results_on_cluster=True)
    state = flow.run(executor=executor)
    try:
        assert executor.client is not None and executor.client.status == "running"
        assert state.result[blobs].map_states[5].result == blob_of(5)
        again = flow.run(executor=executor)          # the started executor is used again
        assert again.result[lone].result == blob_of(100)
    finally:
        executor.close()
    assert executor.client is None
    with pytest.raises(ExecutorError, match=r"'blob\[4\]' was left on the Dask cluster"):
        state.result[blobs].map_states[4].result


def test_grouped_single_tasks_downstream_reads_and_mapping_over_a_left_list(dask_cluster):
    """Many single tasks (more than 8 per worker thread) run in group nodes (tuples of
    States); a task downstream of a big
    result reads it on the cluster; mapping over a big list works (the driver fetches the
    list to learn the width)."""
    with Flow("big-groups") as flow:
        lones = [blob(100 + k) for k in range(40)]
        heads = [first_bytes(b) for b in lones]
        pieces = chunks()
        per_piece = first_bytes.map(pieces)
    with DaskExecutor(address=dask_cluster.scheduler_address,
                      results_on_cluster=True) as executor:
        state = flow.run(executor=executor)
        assert state.is_successful()
        assert all(left(state.result[b]) for b in lones)
        assert [raw_result(state.result[h]) for h in heads] == \
            [bytes([100 + k]) for k in range(40)]
        assert [state.result[b].result for b in lones] == [blob_of(100 + k) for k in range(40)]
        assert state.result[per_piece].result == [bytes([i]) for i in range(8)]


def test_a_state_holding_a_remote_result_pickles_as_its_value(dask_cluster):
    flow, _blobs, _n, lone, _other, _tiny = big_flow()
    with DaskExecutor(address=dask_cluster.scheduler_address,
                      results_on_cluster=True) as executor:
        state = flow.run(executor=executor).result[lone]
        assert left(state)
        for dumps in (pickle.dumps, cloudpickle.dumps):
            copy = pickle.loads(dumps(state))
            assert type(copy) is type(state) and raw_result(copy) == blob_of(100)


def test_without_the_option_every_result_comes_back(dask_cluster):
    flow, blobs, _n, lone, _other, _tiny = big_flow()
    state = flow.run(executor=DaskExecutor(address=dask_cluster.scheduler_address))
    assert raw_result(state.result[lone]) == blob_of(100)
    assert [raw_result(c) for c in state.result[blobs].map_states] == \
        [blob_of(i) for i in range(6)]


def test_big_bytes_results_are_pickled_out_of_band():
    """With pickle protocol 5 (what Dask uses between processes) a big ``bytes`` result of a
    State or of a batch of children travels as its own buffer, not copied into the pickle;
    it comes back as ``bytes``, and every other protocol pickles it as before."""
    from prefect_dask.states import Failed, MapStates, Success

    big = blob_of(1)
    state = Success("ok", result=big, task_name="t", attempts=2)
    batch = MapStates.from_states("t", [Success(result=big, task_name="t", map_index=4),
                                        Failed("no", task_name="t", map_index=5)], offset=4)
    for value in (state, batch):
        buffers: list = []
        data = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        assert len(buffers) == 1 and len(data) < LEAVE_BYTES
        for copy in (pickle.loads(data, buffers=[memoryview(b) for b in buffers]),
                     pickle.loads(pickle.dumps(value, protocol=4)),
                     pickle.loads(cloudpickle.dumps(value))):
            first = copy if value is state else copy[0]
            assert type(first.result) is bytes and first.result == big
    copy = pickle.loads(pickle.dumps(batch, protocol=5))
    assert [type(c).__name__ for c in copy] == ["Success", "Failed"]
    assert [c.map_index for c in copy] == [4, 5] and copy[1].message == "no"
    copy = pickle.loads(pickle.dumps(state, protocol=5))
    assert (copy.message, copy.attempts, copy.task_name) == ("ok", 2, "t")
