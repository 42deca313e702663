"""The task library, part 1 (issue 12 items 3 and 4): ``ShellTask``, the core tasks at
Prefect 1's ``prefect.tasks.core`` paths (``Constant``, ``FunctionTask``, ``List``,
``Tuple``, ``Set``, ``Dict``, ``GetItem``, ``GetAttr``, the operator classes),
``FilterTask(log_func=)`` and ``defaults_from_attrs``.

Expected values were checked by running the same programs under Prefect 1.4.1.
"""

from __future__ import annotations

import logging

import pytest

from prefect_dask import FilterTask, Flow, Task, task
from prefect_dask.states import Failed
from prefect_dask.tasks.core.collections import Dict, List, Set, Tuple
from prefect_dask.tasks.core.constants import Constant
from prefect_dask.tasks.core.function import FunctionTask
from prefect_dask.tasks.core.operators import Add, GetAttr, GetItem, Not
from prefect_dask.tasks.shell import ShellTask
from prefect_dask.utilities.tasks import defaults_from_attrs


def results(state, *tasks):
    return [state.result[t].result for t in tasks]


# -- ShellTask ----------------------------------------------------------------------

def test_shell_returns_the_last_line_or_all_lines(any_executor, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.txt").write_text("y")
    ls = ShellTask(helper_script=f"cd {tmp_path}")
    with Flow("shell-out") as flow:
        last = ls(command="ls")
        every = ShellTask(return_all=True, helper_script=f"cd {tmp_path}")(command="ls")
        quiet = ShellTask(command="true")()
    state = flow.run(executor=any_executor)
    assert state.is_successful()
    assert results(state, last, every, quiet) == ["b.txt", ["a.txt", "b.txt"], None]


def test_shell_env_is_added_to_the_process_environment(executor, monkeypatch):
    monkeypatch.setenv("TASKLIB_OUTER", "outer")
    with Flow("shell-env") as flow:
        both = ShellTask(return_all=True, env={"TASKLIB_INNER": "from-init"})(
            command='echo "$TASKLIB_OUTER"; echo "$TASKLIB_INNER"')
        called = ShellTask(env={"TASKLIB_INNER": "from-init"})(
            command='echo "$TASKLIB_INNER"', env={"TASKLIB_INNER": "from-call"})
    state = flow.run(executor=executor)
    assert results(state, both, called) == [["outer", "from-init"], "from-call"]


def test_shell_helper_script_runs_in_the_same_process(executor):
    sh = ShellTask(helper_script="greet() { echo \"hello $1\"; }")
    with Flow("shell-helper") as flow:
        a = sh(command="greet ann")
        b = sh(command="greet bob", helper_script="greet() { echo \"hi $1\"; }")
    assert results(flow.run(executor=executor), a, b) == ["hello ann", "hi bob"]


def test_shell_other_shell():
    line = 'a=(1 2 3); echo "${a[2]}"'         # bash arrays: bash is the default shell
    assert ShellTask(command=line).run() == "3"
    assert ShellTask(command="echo $0", shell="sh").run().endswith(".sh")


def test_failing_command_fails_the_task_with_its_stderr(executor, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")
    with Flow("shell-fail") as flow:
        bad = ShellTask(name="listing")(command="echo before; ls /no/such/dir-tasklib")
        after = ShellTask()(command="echo after", upstream_tasks=[bad])
    state = flow.run(executor=executor)
    s = state.result[bad]
    assert isinstance(s, Failed) and state.is_failed()
    assert "ShellTask 'listing': command failed with exit code 2" in s.message
    assert "/no/such/dir-tasklib" in s.message and "before" in s.message
    assert "No such file" in s.result          # the last line, as Prefect 1's FAIL result
    assert state.result[after].is_failed()     # TriggerFailed downstream
    assert "Command failed with exit code 2" in caplog.text
    assert caplog.text.count("/no/such/dir-tasklib") <= 2   # in the summary, not logged extra


def test_log_stderr_logs_the_output_of_a_failing_command(executor, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")
    with Flow("shell-log-stderr") as flow:
        ShellTask(log_stderr=True, return_all=True)(
            command="echo one-tasklib; echo two-tasklib >&2; exit 3")
    assert flow.run(executor=executor).is_failed()
    logged = [r.getMessage() for r in caplog.records if r.name == "prefect_dask.ShellTask"
              and getattr(r, "flow_name", None) == "shell-log-stderr"]
    assert logged == ["Command failed with exit code 3", "one-tasklib\ntwo-tasklib"]


def test_stream_output_logs_each_line_at_its_level(executor, caplog):
    caplog.set_level(logging.DEBUG, logger="prefect_dask")
    with Flow("shell-stream") as flow:
        ShellTask(stream_output="WARNING")(command="echo l1; echo l2")
        ShellTask(name="info", stream_output=True, log_stderr=True)(command="echo l3; exit 1")
    flow.run(executor=executor, log_level="DEBUG")
    lines = [(r.levelname, r.getMessage()) for r in caplog.records
             if getattr(r, "flow_name", None) == "shell-stream"]
    assert ("WARNING", "l1") in lines and ("WARNING", "l2") in lines and ("INFO", "l3") in lines
    assert ("ERROR", "l3") not in lines       # streamed output is not logged again


def test_shell_errors_name_the_task_and_the_fix(executor):
    with pytest.raises(TypeError, match="ShellTask 'loud': stream_output='LOUD' is not a logging level"):
        ShellTask(name="loud", stream_output="LOUD")
    with Flow("shell-no-command") as flow:
        nothing = ShellTask()()
        noshell = ShellTask(command="echo", shell="no-such-shell-tasklib")()
    state = flow.run(executor=executor)
    assert "ShellTask 'ShellTask' has no command to run; pass ShellTask(command=...)" \
        in state.result[nothing].message
    assert "shell 'no-such-shell-tasklib' was not found" in state.result[noshell].message
    with pytest.raises(TypeError, match="has no command"):
        ShellTask().run()


def test_shell_run_called_directly_takes_positional_arguments():
    assert ShellTask().run("echo direct") == "direct"
    assert ShellTask(env={"V": "1"}).run('echo "$V"', None) == ""   # env=None given: none added


# -- defaults_from_attrs ------------------------------------------------------------

class Greeting(Task):
    def __init__(self, greeting="hello", punct="!", **kwargs):
        self.greeting, self.punct = greeting, punct
        super().__init__(**kwargs)

    @defaults_from_attrs("greeting", "punct")
    def run(self, who, greeting=None, punct=None):
        return f"{greeting} {who}{punct or ''}"


def test_defaults_from_attrs_in_a_flow(executor):
    g = Greeting("hi")
    with Flow("greetings") as flow:
        a = g("ann")
        b = g("bob", greeting="hey")
        c = g("cy", punct=None)             # an explicit None is kept, as in Prefect 1
    assert results(flow.run(executor=executor), a, b, c) == ["hi ann!", "hey bob!", "hi cy"]


def test_defaults_from_attrs_names_must_be_arguments():
    with pytest.raises(TypeError, match="run\\(\\) has no argument 'colour'; each name must be"):
        class Bad(Task):
            @defaults_from_attrs("colour")
            def run(self, x):
                return x


# -- the core tasks -------------------------------------------------------------------

@task
def inc(x):
    return x + 1


def test_collection_tasks_used_directly(executor):
    with Flow("collections") as flow:
        a, b = inc(1), inc(2)
        as_list = List()(a, b, 7)
        as_tuple = Tuple()(b, a)
        as_set = Set()(a, a, b)
        as_dict = Dict()(keys=["a", "b"], values=[a, b])
        bad = Dict(name="pairs")(keys=["a"], values=[a, b])
    state = flow.run(executor=executor)
    assert results(state, as_list, as_tuple, as_set, as_dict) == \
        [[2, 3, 7], (3, 2), {2, 3}, {"a": 2, "b": 3}]
    assert "Task 'pairs': got 1 keys but 2 values" in state.result[bad].message
    with pytest.raises(TypeError, match="Task 'List' takes its items as positional inputs"):
        with Flow("kw"):
            List()(x=inc(1))


def test_literals_holding_tasks_become_collection_tasks(executor):
    @task
    def show(x):
        return x

    with Flow("literals") as flow:
        a, b = inc(1), inc(2)
        got = show({"k": [a, (b, 5)], "s": {a}})
    state = flow.run(executor=executor)
    assert state.result[got].result == {"k": [2, (3, 5)], "s": {2}}
    names = sorted(t.name for t in flow.tasks if t.name[0].isupper())
    assert names == ["Dict", "List", "List", "Set", "Tuple"]      # as Prefect 1 builds them
    assert {type(t) for t in flow.tasks} >= {Dict, List, Set, Tuple}


def test_getattr_getitem_and_operator_tasks(executor):
    class Box:
        inner = complex(1, 2)

    with Flow("operators") as flow:
        box = Constant(Box(), name="box")
        imag = GetAttr()(box, "inner.imag")
        missing = GetAttr(default="none")(box, "nope")
        raises = GetAttr(name="strict")(box, "nope")
        item = GetItem(default=0)({"a": 1}, "b")
        total = Add()(inc(1), 10)
        negated = Not()(total)
    state = flow.run(executor=executor)
    assert results(state, imag, missing, item, total, negated) == [2.0, "none", 0, 12, False]
    assert isinstance(state.result[raises].result, AttributeError)


def test_constant_and_function_task_take_task_options(executor):
    calls = []

    def flaky(x):
        calls.append(x)
        if len(calls) < 2:
            raise RuntimeError("once")
        return x * 2

    with Flow("core-options") as flow:
        c = Constant([1, 2], name="pair", tags=["k"])
        doubled = FunctionTask(flaky, name="twice", max_retries=1)(c)
    state = flow.run(executor=executor)
    assert results(state, c, doubled) == [[1, 2], [1, 2, 1, 2]]
    assert c.tags == {"k"} and state.result[doubled].attempts == 2
    assert Constant(3).name == "3" and Constant("a longer one").name == "Constant[str]"
    assert FunctionTask(inc.run).name == "inc"

    def documented(x):
        """Doubles x."""
        return 2 * x

    made = FunctionTask(documented)
    assert (made.__name__, made.__doc__, made.__module__, made.__wrapped__) == \
        ("documented", "Doubles x.", __name__, documented)     # as Prefect 1's update_wrapper
    assert made.__qualname__.endswith("documented") and inc.__name__ == "inc"


def test_filter_task_log_func(executor, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")
    evens = FilterTask(filter_func=lambda x: x % 2 == 0,
                       log_func=lambda kept: f"kept {kept}")
    with Flow("filter-log") as flow:
        kept = evens(inc.map([0, 1, 2, 3]))
    state = flow.run(executor=executor)
    assert state.result[kept].result == [2, 4]
    assert "kept [2, 4]" in [r.getMessage() for r in caplog.records]
    with pytest.raises(ValueError, match="FilterTask: log_func=3 is not callable"):
        FilterTask(log_func=3)


def test_prefect_paths_are_the_same_objects():
    import sys

    from prefect_dask import tasks

    core = sys.modules["prefect_dask.task"]

    assert tasks.core.collections.List is core.List and tasks.core.constants.Constant is core.Constant
    assert tasks.core.function.FunctionTask is core.FunctionTask
    assert tasks.core.operators.GetItem is core.GetItem and tasks.Task is Task


# -- Prefect 1's paths of the task library, under both routes ----------------------------

#: Prefect 1.4.1 path (relative to ``prefect``) -> names it has (checked under 1.4.1).
LIBRARY_PATHS = {
    "tasks": ["Task"],
    "tasks.shell": ["ShellTask"],
    "tasks.core.constants": ["Constant"],
    "tasks.core.collections": ["VarArgsTask", "List", "Tuple", "Set", "Dict"],
    "tasks.core.function": ["FunctionTask"],
    "tasks.core.operators": ["GetItem", "GetAttr", "Add", "Sub", "Mul", "Div", "FloorDiv", "Pow",
                             "Mod", "And", "Or", "Not", "Equal", "NotEqual", "GreaterThan",
                             "GreaterThanOrEqual", "LessThan", "LessThanOrEqual"],
    "tasks.templates": ["StringFormatter", "JinjaTemplate"],
    "tasks.templates.strings": ["StringFormatter"],
    "tasks.templates.jinja2": ["JinjaTemplate"],
    "tasks.secrets": ["SecretBase", "PrefectSecret", "EnvVarSecret"],
    "tasks.secrets.base": ["SecretBase", "PrefectSecret"],
    "tasks.secrets.env_var": ["EnvVarSecret"],
    "tasks.database": ["SQLiteQuery", "SQLiteScript"],
    "tasks.database.sqlite": ["SQLiteQuery", "SQLiteScript"],
    "tasks.files": ["Copy", "Move", "Remove", "Glob", "Zip", "Unzip"],
    "tasks.files.operations": ["Copy", "Move", "Remove", "Glob"],
    "tasks.files.compression": ["Zip", "Unzip"],
    "tasks.notifications": ["SlackTask", "EmailTask"],
    "tasks.notifications.slack_task": ["SlackTask"],
    "tasks.notifications.email_task": ["EmailTask"],
    "client": ["Secret"],
    "client.secrets": ["Secret"],
    "utilities.tasks": ["defaults_from_attrs"],
    "utilities.notifications": ["slack_notifier"],
}


@pytest.mark.parametrize("path", sorted(LIBRARY_PATHS))
def test_library_paths_import_renamed(path):
    import importlib

    module = importlib.import_module(f"prefect_dask.{path}")
    for name in LIBRARY_PATHS[path]:
        assert isinstance(getattr(module, name), type) or callable(getattr(module, name))


LIBRARY_WALK = '''
import importlib, json, sys
paths = json.loads(sys.argv[1])
bad = []
for path, names in paths.items():
    try:
        got = importlib.import_module("prefect." + path)
        want = importlib.import_module("prefect_dask." + path)
        bad += [[path, n] for n in names if getattr(got, n) is not getattr(want, n)]
    except Exception as exc:
        bad.append([path, repr(exc)])
from prefect.tasks.shell import ShellTask
from prefect import Flow
with Flow("compat-shell") as flow:
    out = ShellTask(command="echo from-compat")()
assert flow.run().result[out].result == "from-compat"
print(json.dumps(bad))
'''


def test_library_paths_import_as_prefect_inside_compat(tmp_path):
    import json
    import subprocess
    import sys

    (tmp_path / "walk.py").write_text(LIBRARY_WALK)
    out = subprocess.run([sys.executable, "-m", "prefect_dask.compat", "walk.py",
                          json.dumps(LIBRARY_PATHS)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
