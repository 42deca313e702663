"""The public names (the contract of DESIGN.md / issue 2) exist and __all__ is honest."""

from __future__ import annotations

import importlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import prefect_dask

ROOT = Path(__file__).resolve().parent.parent

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


# The package's top level, by layer (issue 14): the programming model users import
# directly stays here; persistence is in store/, the commands and pages in app/,
# Prefect 1's own places in utilities/ and tasks/.  A new module goes into its layer.
TOP_LEVEL_MODULES = {"__init__", "task", "flow", "mapping", "states", "signals", "triggers",
                     "context", "errors", "configuration", "results", "cache_validators",
                     "schedules", "secrets"}
TOP_LEVEL_PACKAGES = {"app", "compat", "engine", "executors", "store", "tasks", "utilities"}


def test_top_level_holds_only_the_programming_model_and_the_layers():
    import pkgutil

    found = {m.name: m.ispkg for m in pkgutil.iter_modules(prefect_dask.__path__)}
    assert {n for n, pkg in found.items() if pkg} == TOP_LEVEL_PACKAGES
    files = {p.stem for p in Path(prefect_dask.__file__).parent.glob("*.py")}
    assert files == TOP_LEVEL_MODULES, (
        f"unexpected top-level modules {sorted(files - TOP_LEVEL_MODULES)} (put them in their "
        f"layer package), missing {sorted(TOP_LEVEL_MODULES - files)}")


def _moved_cases():
    from prefect_dask.compat import MOVED

    return sorted(MOVED.items())


@pytest.mark.parametrize("old, new", _moved_cases())
def test_old_module_paths_are_the_moved_modules(old, new):
    """``prefect_dask.<old>`` (before the layout of issue 14) is the module now at
    ``new``: the same object by import, by ``from``, by attribute, and by pickle."""
    module = importlib.import_module(new)
    assert module.__name__ == new
    assert importlib.import_module(f"prefect_dask.{old}") is module
    # a name imported from the old path is the module's own
    name = sorted(getattr(module, "__all__", None) or
                  [n for n in vars(module) if not n.startswith("_")])[0]
    ns: dict = {}
    exec(f"from prefect_dask.{old} import {name}", ns)
    assert ns[name] is getattr(module, name)
    exec(f"from prefect_dask import {old}", ns)
    if isinstance(ns[old], type(importlib)):   # prefect_dask.resource_manager is the function
        assert ns[old] is module
    # pickles that name the old module (written before the move) load the same objects
    assert pickle.loads(f"cprefect_dask.{old}\n{name}\n.".encode()) is getattr(module, name)


def test_moved_packages_serve_their_submodules_once():
    import prefect_dask.ui.server

    assert prefect_dask.ui.server is importlib.import_module("prefect_dask.app.ui.server")
    assert importlib.import_module("prefect_dask.ui.pages") is \
        importlib.import_module("prefect_dask.app.ui.pages")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("prefect_dask.ui.nothing")


def test_importing_an_old_path_keeps_the_top_level_names():
    """``prefect_dask.resource_manager`` is the decorator (as ``prefect.resource_manager``
    is), also after the old module path ``prefect_dask.resource_manager`` is imported."""
    import prefect_dask.resource_manager as rm  # the attribute: the function

    module = importlib.import_module("prefect_dask.resource_manager")
    assert module is importlib.import_module("prefect_dask.tasks.core.resource_manager")
    assert rm is prefect_dask.resource_manager is module.resource_manager
    assert prefect_dask.tasks.control_flow.case is prefect_dask.case   # not its child module


NOT_UNDER_PREFECT = '''
import importlib, json, sys, types
import prefect
from prefect_dask.compat import MOVED
served = []
for old in [*sorted(MOVED), "ui.server"]:
    try:
        importlib.import_module("prefect." + old)
        served.append("import prefect." + old)
    except ModuleNotFoundError:
        pass
    if isinstance(getattr(prefect, old.split(".")[0], None), types.ModuleType):
        served.append("prefect." + old)
assert "records" not in dir(prefect)
json.dump([served, prefect.resource_manager is prefect_dask_rm()], open(sys.argv[1], "w"))
'''.replace("prefect_dask_rm()", "importlib.import_module('prefect_dask').resource_manager")


def test_old_module_paths_are_not_served_under_prefect(tmp_path):
    (tmp_path / "walk.py").write_text(NOT_UNDER_PREFECT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "prefect_dask.compat", "walk.py", "out.json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == [[], True]

