"""Prefect 1 behaviour prefect_dask must not silently differ from (issue 13).

Each test was checked against Prefect 1.4.1 running the same program; the
values asserted are the ones Prefect 1 gives.
"""

from __future__ import annotations

import datetime
import threading

import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import Flow, context, task
from prefect_dask.errors import ExecutorError

pickle_by_value(__name__)


@task
def read_context():
    return context.get("key"), context.get("flow_name"), context.get("today")


# -- 1. values set around flow.run reach every task ------------------------------------

def test_context_around_run_reaches_tasks_on_every_executor(any_executor):
    with Flow("ctx") as flow:
        r = read_context()
    day = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)
    with context(key="abc", flow_name="not this", date=day):
        state = flow.run(executor=any_executor)
    # the run's own flow_name wins; dates follow a given date, as in Prefect 1
    assert state.result[r].result == ("abc", "ctx", "2020-01-02")


def test_run_context_overrides_the_context_around_run(executor):
    with Flow("ctx") as flow:
        r = read_context()
    with context(key="around"):
        state = flow.run(executor=executor, context={"key": "given"})
    assert state.result[r].result[0] == "given"
    assert flow.run(executor=executor).result[r].result[0] is None   # nothing left behind


def test_unpicklable_context_value_is_an_error_before_the_run():
    from prefect_dask.executors import LocalDaskExecutor

    with Flow("ctx") as flow:
        read_context()
    with context(lock=threading.Lock()):
        with pytest.raises(ExecutorError, match="context value 'lock' .* cannot be pickled"):
            flow.run(executor=LocalDaskExecutor(scheduler="processes"))
