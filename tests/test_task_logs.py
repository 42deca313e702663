"""What a failed or retried task run leaves behind: Prefect 1's task log lines and the
user's traceback (issue 15 items 1-2).

Checked against Prefect 1.4.1 (``prefect.TaskRunner``): each task run logs ``Task
'parse[3]': Starting task run...`` and ``Task 'parse[3]': Finished task run for task with
final state: 'Retrying'`` (a retry ends one run and starts the next), and an exception
is logged at ERROR as ``Task 'parse[3]': Exception encountered during task execution!``
with its traceback.  Here mapped children log their start and finish lines at DEBUG (a
10^6-child run would print 2x10^6 lines at INFO); the exception line stays ERROR.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import Flow, task
from prefect_dask.store.history import History
from prefect_dask.store.records import list_runs, read_record

pickle_by_value(__name__)

RAISE_LINE = 0   # set below: the line of the `raise` in parse


@task(max_retries=1)
def parse(x):
    if x % 4 == 3:
        raise ValueError(f"bad record {x}")   # the line tracebacks must point at
    return x


RAISE_LINE = parse.run.__code__.co_firstlineno + 3


def runner_lines(caplog, level=logging.DEBUG):
    return [(r.levelname, r.getMessage()) for r in caplog.records
            if r.name == "prefect_dask.TaskRunner" and r.levelno >= level]


def test_lines_like_prefect_1_children_at_debug(executor, caplog, home):
    caplog.set_level(logging.DEBUG)
    with Flow("lines") as flow:
        parse.map([2, 3])
    flow.run(executor=executor, log_level="DEBUG")
    lines = runner_lines(caplog)
    child = [m for _, m in lines if m.startswith("Task 'parse[1]'")]
    assert child == [
        "Task 'parse[1]': Starting task run...",
        "Task 'parse[1]': Exception encountered during task execution!",
        "Task 'parse[1]': Finished task run for task with final state: 'Retrying'",
        "Task 'parse[1]': Starting task run...",
        "Task 'parse[1]': Exception encountered during task execution!",
        "Task 'parse[1]': Finished task run for task with final state: 'Failed'"]
    assert [m for _, m in lines if m.startswith("Task 'parse[0]'")] == [
        "Task 'parse[0]': Starting task run...",
        "Task 'parse[0]': Finished task run for task with final state: 'Success'"]
    levels = {m: lv for lv, m in lines}
    assert levels["Task 'parse[0]': Starting task run..."] == "DEBUG"
    assert levels["Task 'parse[1]': Exception encountered during task execution!"] == "ERROR"
    assert levels["Task 'parse': Finished task run for task with final state: 'Mapped'"] == \
        "INFO"

    caplog.clear()          # at the default level (INFO) children's lines are not even made
    flow.run(executor=executor)
    assert {m for _, m in runner_lines(caplog)} == {
        "Task 'parse': Starting task run...",
        "Task 'parse': Finished task run for task with final state: 'Mapped'",
        "Task 'parse[1]': Exception encountered during task execution!"}
    record = read_record(list_runs(1)[0]["path"])
    assert all(r["levelno"] >= logging.INFO for c in record["tasks"]["parse-1"]["children"].values()
               for r in c["logs"])


def test_a_plain_task_logs_start_and_finish_at_info(executor, caplog, home):
    caplog.set_level(logging.INFO)
    with Flow("plain") as flow:
        parse(1)
    flow.run(executor=executor)
    assert runner_lines(caplog) == [
        ("INFO", "Task 'parse': Starting task run..."),
        ("INFO", "Task 'parse': Finished task run for task with final state: 'Success'")]


def test_the_traceback_shows_the_users_file_and_line(any_executor, caplog, home):
    caplog.set_level(logging.INFO)
    with Flow("tb") as flow:
        parse.map([1, 3])
    flow.run(executor=any_executor)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2                      # the first attempt and its retry
    text = errors[0].exc_text
    assert text.startswith("Traceback (most recent call last):\n")
    assert f'  File "{__file__}", line {RAISE_LINE}, in parse\n' \
           '    raise ValueError(f"bad record {x}")' in text
    assert text.endswith("ValueError: bad record 3")
    assert "<dynamic-code>" not in text and "prefect_dask" + os.sep not in text
    # kept in the run record, and so in the history, `runs show` and the report
    [group] = History().failures(list_runs(1)[0]["run_id"])
    assert group["traceback"] == text and group["map_indexes"] == [1]


@task(timeout=30)
def fails_in_a_child(x):
    raise KeyError(x)


def test_the_traceback_of_a_task_run_in_a_timeout_process(caplog, home):
    caplog.set_level(logging.INFO)
    with Flow("tb-timeout") as flow:
        fails_in_a_child(7)
    flow.run(executor="processes")      # the task runs in a forked child it can kill
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f'File "{__file__}", line {fails_in_a_child.run.__code__.co_firstlineno + 2}, ' \
           "in fails_in_a_child" in error.exc_text
    assert error.exc_text.endswith("KeyError: 7")


@task
def chained(x):
    try:
        {}[x]
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


def test_chained_exceptions_show_both(caplog, home):
    caplog.set_level(logging.INFO)
    with Flow("tb-chain") as flow:
        chained("k")
    flow.run()
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "KeyError: 'k'\n\nThe above exception was the direct cause of the following " \
           "exception:\n\nTraceback" in error.exc_text
    assert error.exc_text.endswith("RuntimeError: lookup failed")


@task
def always_fails(x):
    raise ValueError(x)


def test_the_first_tracebacks_per_task_then_a_count(executor, caplog, home):
    caplog.set_level(logging.INFO)
    with Flow("many-failures") as flow:
        always_fails.map(list(range(10)))
    flow.run(executor=executor)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3 and all(r.exc_text for r in errors)
    assert "Task 'always_fails': 7 more task runs raised an exception; their tracebacks are " \
           "left out (`prefect-dask runs show " in caplog.text
    record = read_record(list_runs(1)[0]["path"])
    kept = [r for c in record["tasks"]["always_fails-1"]["children"].values()
            for r in c["logs"] if r.get("exc_text")]
    assert len(kept) == 3
    [group] = History().failures(record["run_id"])
    assert group["n"] == 10 and group["traceback"]


FLOW_FILE = '''
from prefect_dask import Flow, task

@task
def parse(x):
    if x == 2:
        raise ValueError("bad record %d" % x)
    return x

with Flow("cli-tb") as flow:
    parse.map([1, 2])
'''


@pytest.mark.slow
def test_cli_runs_show_prints_the_traceback(tmp_path, home):
    path = tmp_path / "flows.py"
    path.write_text(FLOW_FILE)
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    run = subprocess.run([sys.executable, "-m", "prefect_dask.app.cli", "run", str(path),
                          "--executor", "processes"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1
    assert f'File "{path}", line 7, in parse' in run.stderr
    show = subprocess.run([sys.executable, "-m", "prefect_dask.app.cli", "runs", "show", "last"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert "1 x Failed ValueError in parse[1]:" in show.stdout
    assert f'File "{path}", line 7, in parse' in show.stdout
    assert 'raise ValueError("bad record %d" % x)' in show.stdout
