"""The public names (the contract of DESIGN.md / issue 2) exist and __all__ is honest."""

from __future__ import annotations

import importlib

import prefect_dask

ISSUE_2_NAMES = ["Flow", "Task", "task", "Parameter", "signals", "states", "triggers",
                 "context", "get_logger"]


def test_top_level_names_import():
    from prefect_dask import (Flow, Parameter, Task, context, get_logger, signals, states,  # noqa: F401
                              task, triggers)

    assert isinstance(Flow, type) and isinstance(Task, type)
    assert issubclass(Parameter, Task)
    assert callable(task) and callable(get_logger)
    for module in (signals, states, triggers):
        assert module.__name__.startswith("prefect_dask.")


def test_executor_names_import():
    from prefect_dask.executors import LocalDaskExecutor, LocalExecutor

    assert isinstance(LocalExecutor(), LocalExecutor)
    assert LocalDaskExecutor(scheduler="threads", num_workers=2).num_workers == 2


def test_all_lists_the_issue_names():
    assert set(ISSUE_2_NAMES) <= set(prefect_dask.__all__)


def test_all_matches_what_is_importable():
    assert len(prefect_dask.__all__) == len(set(prefect_dask.__all__)), "duplicates in __all__"
    for name in prefect_dask.__all__:
        assert hasattr(prefect_dask, name), f"prefect_dask.__all__ lists {name!r} but it is missing"
    ns: dict = {}
    exec("from prefect_dask import *", ns)
    assert set(prefect_dask.__all__) <= set(ns)


def test_public_objects_are_listed_in_all():
    """Every public, non-module attribute of the package is in __all__ (nothing leaks)."""
    public = {n for n, v in vars(prefect_dask).items()
              if not n.startswith("_") and not isinstance(v, type(importlib))}
    assert public <= set(prefect_dask.__all__) | {"annotations"}


def test_executors_all_matches_what_is_importable():
    mod = importlib.import_module("prefect_dask.executors")
    for name in ["LocalExecutor", "LocalDaskExecutor"]:
        assert name in mod.__all__
    for name in mod.__all__:
        assert hasattr(mod, name)


def test_submodules_have_literal_all():
    for sub in ("states", "signals", "triggers"):
        mod = importlib.import_module(f"prefect_dask.{sub}")
        for name in mod.__all__:
            assert hasattr(mod, name), f"prefect_dask.{sub}.__all__ lists missing {name!r}"


def test_state_and_signal_names():
    from prefect_dask import signals, states

    for name in ["Pending", "Scheduled", "Running", "Retrying", "Success", "Cached", "Mapped",
                 "Skipped", "Failed", "TimedOut", "TriggerFailed", "Looped", "Cancelled"]:
        assert isinstance(getattr(states, name), type)
    # as in Prefect 1, signals are BaseExceptions: `except Exception` in a task lets them pass
    for name in signals.__all__:
        obj = getattr(signals, name)
        if isinstance(obj, type):
            assert issubclass(obj, signals.PrefectSignal) and issubclass(obj, BaseException)
            assert not issubclass(obj, Exception), name


def test_trigger_names():
    from prefect_dask import triggers

    for name in ["all_successful", "all_failed", "any_successful", "any_failed", "all_finished",
                 "always_run", "some_successful", "some_failed", "not_all_skipped",
                 "manual_only"]:
        assert callable(getattr(triggers, name))


# What Prefect 1.4.1's ``prefect`` package exports at its top level (besides its modules and
# its server client), so ``from prefect_dask import X`` works wherever ``from prefect import X``
# did; the other Prefect 1 names real programs use are exported here too.
PREFECT1_TOP_LEVEL = ["Flow", "Parameter", "Task", "apply_map", "case", "context", "flatten",
                      "mapped", "resource_manager", "tags", "task", "triggers", "unmapped"]
PREFECT1_DEEP_NAMES = ["defaults_from_attrs", "as_task", "raise_on_exception", "get_logger",
                       "DateTimeParameter", "PrefectResult", "Schedule"]


def test_prefect1_top_level_names():
    assert set(PREFECT1_TOP_LEVEL + PREFECT1_DEEP_NAMES) <= set(prefect_dask.__all__)
