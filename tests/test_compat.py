"""Prefect 1 programs unchanged (issue 12): the table of module paths, both routes.

* renamed: after ``import prefect_dask`` every path of ``compat.PATHS`` imports as
  ``prefect_dask.<path>`` and its names are ours;
* as ``prefect``: inside ``python -m prefect_dask.compat FILE`` the same paths import as
  ``prefect.<path>`` (a subprocess walks the table), and an unchanged program runs
  end to end with Prefect 1's states and results;
* outside compat a real ``prefect`` is never shadowed;
* what needs Prefect Server / Cloud is importable and says so when used.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import prefect_dask
from prefect_dask import compat
from prefect_dask.compat import PACKAGE, PATHS, lookup

ROOT = Path(__file__).resolve().parent.parent


def _run(args, cwd, env=None, timeout=240):
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _resolve(prefix: str, key: str):
    """The object at ``prefix.key``: an attribute for ``module:name`` entries, else a module."""
    if ":" in PATHS.get(key, ""):
        parent, _, name = key.rpartition(".")
        return getattr(importlib.import_module(f"{prefix}.{parent}" if parent else prefix), name)
    return importlib.import_module(f"{prefix}.{key}")


def _expected(key: str):
    value = PATHS[key]
    if value == PACKAGE:
        return None
    module, _, name = value.partition(":")
    return getattr(importlib.import_module(module), name) if name else None


@pytest.mark.parametrize("key", sorted(PATHS))
def test_every_table_path_imports_renamed(key):
    got = _resolve("prefect_dask", key)
    expected = _expected(key)
    if expected is not None:
        assert got is expected
    elif PATHS[key] != PACKAGE and lookup(key)[0] == "module":
        target = importlib.import_module(PATHS[key])
        # the module itself, or a view of it (it has children in the table)
        assert got is target or getattr(got, "__target__", None) is target
        for name in getattr(target, "__all__", ()):
            assert getattr(got, name) is getattr(target, name)


def test_no_table_entry_shadows_a_real_module():
    """A path that really exists under prefect_dask is served by it: its line must go."""
    redundant = [k for k in PATHS if compat._real_spec(k)]
    assert not redundant, f"remove these lines from compat/paths.py: {redundant}"


def test_object_entries_name_objects_that_exist():
    for key, value in PATHS.items():
        if ":" in value:
            module, _, name = value.partition(":")
            assert hasattr(importlib.import_module(module), name), f"{key}: {value} is missing"


def test_deep_paths_renamed_as_prefect_1_writes_them():
    from prefect_dask.core import Edge, Flow, Parameter, Task
    from prefect_dask.engine import FlowRunner, signals
    from prefect_dask.engine.executors import LocalDaskExecutor
    from prefect_dask.engine.state import Failed, Success
    from prefect_dask.tasks.control_flow import case, merge
    from prefect_dask.tasks.control_flow.filter import FilterTask
    from prefect_dask.utilities.edges import unmapped
    from prefect_dask.utilities.tasks import apply_map

    assert (Flow, Edge, Task, Parameter) == (prefect_dask.Flow, prefect_dask.Edge,
                                             prefect_dask.Task, prefect_dask.Parameter)
    assert signals is prefect_dask.signals and Success is prefect_dask.states.Success
    assert Failed is prefect_dask.states.Failed and case is prefect_dask.case
    assert merge is prefect_dask.merge and FilterTask is prefect_dask.FilterTask
    assert unmapped is prefect_dask.unmapped and apply_map is prefect_dask.apply_map
    assert LocalDaskExecutor is prefect_dask.executors.LocalDaskExecutor
    assert FlowRunner.__module__ == "prefect_dask.compat.runners"
    import prefect_dask.engine.flow_runner as fr
    assert fr.FlowRunner is FlowRunner
    # attribute chains after one import, as Prefect 1's eager imports allowed
    assert prefect_dask.engine.signals.FAIL is signals.FAIL
    assert prefect_dask.utilities.logging.get_logger is prefect_dask.get_logger
    assert prefect_dask.engine.executors.dask.DaskExecutor is \
        prefect_dask.executors.DaskExecutor
    # a path under an aliased package is that package's module, not a second copy
    assert importlib.import_module("prefect_dask.engine.executors.dask") is \
        importlib.import_module("prefect_dask.executors.dask")
    # a served module keeps its own identity
    assert prefect_dask.signals.__spec__.name == "prefect_dask.signals"


def test_unknown_names_are_plain_errors():
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        prefect_dask.utilities.tasks.nothing
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("prefect_dask.core.nothing")
    with pytest.raises(ImportError, match="cannot import name 'Nothing' from "
                                          "'prefect_dask.engine.results'"):
        from prefect_dask.engine.results import Nothing  # noqa: F401


WALK = '''
import importlib, json, sys
import prefect, prefect_dask
from prefect_dask.compat import PATHS
bad = []
for key, value in sorted(PATHS.items()):
    try:
        if ":" in value:
            parent, _, name = key.rpartition(".")
            got = getattr(importlib.import_module("prefect." + parent if parent else "prefect"),
                          name)
            want = getattr(importlib.import_module("prefect_dask." + parent if parent
                                                   else "prefect_dask"), name)
        else:
            got = importlib.import_module("prefect." + key)
            want = importlib.import_module("prefect_dask." + key)
        if got is not want:
            bad.append([key, "differs", repr(got), repr(want)])
    except Exception as exc:
        bad.append([key, repr(exc)])
from prefect.engine import signals
from prefect import Flow, task, Parameter, config, context
import prefect.engine.state
assert prefect.Flow is prefect_dask.Flow and prefect.__version__ == "1.4.1"
assert prefect.context is prefect_dask.context and signals is prefect_dask.signals
assert prefect.engine.state.Success is prefect_dask.states.Success
try:
    import prefect.nothing_like_this
    bad.append(["prefect.nothing_like_this", "imported"])
except ModuleNotFoundError as exc:
    assert "prefect.nothing_like_this is not one of them" in str(exc), exc
json.dump(bad, open(sys.argv[1], "w"))
'''


def test_every_table_path_imports_as_prefect_inside_compat(tmp_path):
    (tmp_path / "walk.py").write_text(WALK)
    out = _run(["-m", "prefect_dask.compat", "walk.py", "bad.json"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "bad.json").read_text()) == []


# An unchanged Prefect 1 program: deep imports, `import prefect`, sys.argv, __main__.
# EXPECTED is what Prefect 1.4.1 gives for it (run under the real Prefect 1.4.1).
PROGRAM = '''
import json
import os
import sys

import prefect
from prefect import Flow, Parameter, task
from prefect.engine import signals
from prefect.engine.state import Failed
from prefect.tasks.control_flow import case, merge
from prefect.triggers import all_finished
from prefect.utilities.edges import unmapped


@task
def numbers(n):
    return list(range(n))


@task
def scale(x, factor):
    if x == 2:
        raise signals.SKIP("two is skipped")
    return x * factor


@task
def is_big(xs):
    return len(xs) > 2


@task
def say(word):
    return word


@task
def fail_on(x):
    raise signals.FAIL("failed on purpose")


@task(trigger=all_finished)
def cleanup(x):
    return "cleaned"


with Flow("unchanged") as flow:
    n = Parameter("n", default=2)
    factor = Parameter("factor", default=10)
    xs = numbers(n)
    scaled = scale.map(xs, unmapped(factor))
    with case(is_big(xs), True):
        big = say("big")
    with case(is_big(xs), False):
        small = say("small")
    chosen = merge(big, small)
    failed = fail_on(chosen)
    done = cleanup(failed)


if __name__ == "__main__":
    assert __file__ == os.path.abspath(sys.argv[0]) and sys.argv[0] == "program.py"
    state = flow.run(parameters={"n": int(sys.argv[2])})
    named = {"numbers": xs, "scale": scaled, "big": big, "small": small, "merge": chosen,
             "fail_on": failed, "cleanup": done}
    out = {name: [type(state.result[t]).__name__, repr(state.result[t].result)]
           for name, t in named.items()}
    out["scale children"] = [type(s).__name__ for s in state.result[scaled].map_states]
    out["flow"] = type(state).__name__
    out["prefect"] = [prefect.__name__, prefect.__version__, prefect.Flow.__module__]
    json.dump(out, open(sys.argv[1], "w"), indent=1)
'''

EXPECTED = {
    "numbers": ["Success", "[0, 1, 2, 3]"],
    "scale": ["Mapped", "[0, 10, SKIP('two is skipped'), 30]"],
    "big": ["Success", "'big'"],
    "small": ["Skipped", "None"],
    "merge": ["Success", "'big'"],
    "fail_on": ["Failed", "FAIL('failed on purpose')"],
    "cleanup": ["Success", "'cleaned'"],
    "scale children": ["Success", "Success", "Skipped", "Success"],
    "flow": "Success",
    "prefect": ["prefect", "1.4.1", "prefect_dask.flow"],   # Prefect 1.4.1: prefect.core.flow
}


def test_compat_runs_an_unchanged_prefect_1_program(tmp_path):
    (tmp_path / "program.py").write_text(PROGRAM)
    out = _run(["-m", "prefect_dask.compat", "program.py", "out.json", "4"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == EXPECTED


SPAWNING = '''
import sys
import prefect
from prefect import Flow, task
from prefect.executors import DaskExecutor, LocalDaskExecutor

@task
def double(x):
    return 2 * x

with Flow("spawned") as flow:
    out = double.map([1, 2, 3])

if __name__ == "__main__":
    executor = (LocalDaskExecutor(scheduler="processes", num_workers=2) if sys.argv[1] == "processes"
                else DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1,
                                                  "dashboard_address": None}))
    state = flow.run(executor=executor)
    print("RESULT", state.result[out].result)
'''


@pytest.mark.parametrize("executor", ["processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_compat_program_on_process_and_cluster_executors(tmp_path, executor):
    """Spawned workers import the program again, `import prefect` included."""
    (tmp_path / "program.py").write_text(SPAWNING)
    out = _run(["-m", "prefect_dask.compat", "program.py", executor], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "RESULT [2, 4, 6]" in out.stdout


GLOBAL_PREFECT = '''
import sys
import prefect
from prefect import Flow, task
from prefect.executors import DaskExecutor, LocalDaskExecutor
from prefect.utilities import edges

@task
def where(x):
    prefect.context.logger.info("item %s", x)
    return (x + 1, prefect.context.get("map_index"), edges.unmapped.__name__)

with Flow("globals") as flow:
    out = where.map([1, 2, 3])

if __name__ == "__main__":
    executor = (LocalDaskExecutor(scheduler="processes", num_workers=2) if sys.argv[1] == "processes"
                else DaskExecutor(cluster_kwargs={"n_workers": 1, "threads_per_worker": 2,
                                                  "dashboard_address": None}))
    state = flow.run(executor=executor)
    print("RESULT", type(state).__name__, type(state.result[out]).__name__,
          state.result[out].result)
'''


@pytest.mark.parametrize("executor", ["processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_compat_task_using_the_global_prefect_module_runs_in_other_processes(tmp_path, executor):
    """A task of ``__main__`` is pickled with its globals by value: ``prefect`` (and any
    module served from the table) pickles by reference and is served again in the
    worker.  Prefect 1.4.1 printed the same line."""
    (tmp_path / "program.py").write_text(GLOBAL_PREFECT)
    out = _run(["-m", "prefect_dask.compat", "program.py", executor], tmp_path)
    assert out.returncode == 0, out.stderr
    assert ("RESULT Success Mapped [(2, 0, 'unmapped'), (3, 1, 'unmapped'), "
            "(4, 2, 'unmapped')]") in out.stdout


def test_served_modules_pickle_by_reference():
    import cloudpickle

    import prefect_dask.utilities.edges as edges
    view = prefect_dask.utilities.edges
    assert type(view) is not type(compat)     # a module made from the table
    assert cloudpickle.loads(cloudpickle.dumps(edges)) is edges
    assert cloudpickle.loads(cloudpickle.dumps(prefect_dask.core)) is prefect_dask.core


def test_compat_missing_file_says_what_to_do(tmp_path, capsys):
    assert compat.main([str(tmp_path / "nothere.py")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "python -m prefect_dask.compat path/to/flow.py" in err
    assert compat.main([]) == 2
    with pytest.raises(compat.UsageError, match=r"it is a directory.*Give the path"):
        compat.run_file(str(tmp_path))


def test_compat_logs_to_stdout_as_prefect_1_did(tmp_path):
    (tmp_path / "logs.py").write_text(textwrap.dedent('''
        import prefect
        from prefect import Flow, task

        @task
        def talk():
            prefect.context.get("logger").info("said from the task")

        with Flow("logs") as flow:
            talk()
        flow.run()
        '''))
    out = _run(["-m", "prefect_dask.compat", "logs.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "said from the task" in out.stdout and "said from the task" not in out.stderr


def test_compat_exit_status_and_traceback_follow_python(tmp_path):
    (tmp_path / "bad.py").write_text("import prefect\nraise SystemExit(3)\n")
    assert _run(["-m", "prefect_dask.compat", "bad.py"], tmp_path).returncode == 3
    (tmp_path / "err.py").write_text("import prefect\nraise KeyError('mine')\n")
    out = _run(["-m", "prefect_dask.compat", "err.py"], tmp_path)
    assert out.returncode == 1 and "KeyError: 'mine'" in out.stderr
    # the traceback shows the program's frames, as `python err.py` does
    assert out.stderr.splitlines()[:2] == ["Traceback (most recent call last):",
                                           f'  File "{tmp_path / "err.py"}", line 2, in <module>']


def test_compat_reports_a_signal_raised_by_the_program_as_python_would(tmp_path):
    """A signal is an Exception in Prefect 1 (a BaseException here): raised at the
    program's top level it is shown with the program's frames only, exit 1."""
    (tmp_path / "sig.py").write_text("from prefect.engine import signals\n"
                                     "raise signals.FAIL('stop here')\n")
    out = _run(["-m", "prefect_dask.compat", "sig.py"], tmp_path)
    assert out.returncode == 1, out.stderr
    assert out.stderr.splitlines()[:2] == ["Traceback (most recent call last):",
                                           f'  File "{tmp_path / "sig.py"}", line 2, in <module>']
    assert "FAIL: stop here" in out.stderr and "compat/__init__.py" not in out.stderr


def test_a_real_prefect_is_not_shadowed_outside_compat(tmp_path):
    fake = tmp_path / "site" / "prefect"
    (fake / "engine").mkdir(parents=True)
    (fake / "__init__.py").write_text("REAL = True\n")
    (fake / "engine" / "__init__.py").write_text("")
    (fake / "engine" / "signals.py").write_text("REAL_SIGNALS = True\n")
    check = ("import prefect_dask, prefect, prefect.engine.signals\n"
             "import prefect_dask.engine.signals\n"
             "assert prefect.REAL and prefect.engine.signals.REAL_SIGNALS\n"
             "assert prefect_dask.engine.signals is prefect_dask.signals\n"
             "print('OK')\n")
    out = _run(["-c", check], tmp_path, env={"PYTHONPATH": str(tmp_path / "site")})
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr
    assert "prefect" not in sys.modules or sys.modules["prefect"] is not prefect_dask


def test_compat_refuses_beside_an_imported_real_prefect(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "prefect", types.ModuleType("prefect"))
    with pytest.raises(RuntimeError, match="real Prefect is already imported.*fresh interpreter"):
        compat.serve_prefect()


def test_cli_runs_a_prefect_1_file(tmp_path):
    (tmp_path / "flow1.py").write_text(textwrap.dedent('''
        from prefect import Flow, task
        from prefect.engine.signals import FAIL

        @task
        def one():
            return 1

        with Flow("from-prefect-1") as flow:
            one()
        '''))
    env = {"PREFECT_DASK_HOME": str(tmp_path / "home")}
    out = _run(["-m", "prefect_dask.app.cli", "run", "--prefect1", "flow1.py"], tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert "Flow run Success" in out.stdout
    plain = _run(["-m", "prefect_dask.app.cli", "run", "flow1.py"], tmp_path, env)
    assert plain.returncode == 2
    assert "add --prefect1 (prefect-dask run --prefect1 flow1.py)" in plain.stderr
