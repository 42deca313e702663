"""Tiny tasks many test modules build flows from (pickled by value, like cluster_helpers,
so process and cluster workers need not import this module)."""

from __future__ import annotations

from cluster_helpers import pickle_by_value
from prefect_dask import task

pickle_by_value(__name__)


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


@task
def add(x, y):
    return x + y
