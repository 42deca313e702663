"""``prefect_dask.config`` (Prefect 1's ``prefect.config``, read-only) and the
checkpointing switch (issue 12 items 1 and 5), the FlowRunner facade, and what
needs a Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prefect_dask import Flow, Parameter, config, context, task
from prefect_dask.configuration import ConfigReadOnlyError, load
from prefect_dask.compat.runners import FlowRunner
from prefect_dask.errors import NeedsServerError
from prefect_dask.results import LocalResult
from prefect_dask.states import Success
from tasks import inc, one

ROOT = Path(__file__).resolve().parent.parent


# -- config ------------------------------------------------------------------------
def test_config_reads_what_prefect_1_programs_read():
    assert config.flows.checkpointing is True          # the project's default (README)
    assert str(config.logging.level).upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    assert config["flows"]["checkpointing"] is config.flows.checkpointing
    assert config.get("nothing", 5) == 5 and "flows" in config
    assert config.to_dict()["tasks"]["defaults"]["max_retries"] is False
    with pytest.raises(AttributeError, match="config.flows has no setting 'nope'; it has: "):
        config.flows.nope


def test_config_from_prefect_1_environment_variables():
    cfg = load({"PREFECT__FLOWS__CHECKPOINTING": "False", "PREFECT__LOGGING__LEVEL": "DEBUG",
                "PREFECT__CONTEXT__SECRETS__My_Token": "s3cr3t", "PREFECT__X__Y": "[1, 2]",
                "PREFECT__DEBUG": "true", "PREFECT_NOT_OURS": "1"})
    assert cfg.flows.checkpointing is False and cfg.logging.level == "DEBUG"
    assert cfg.context.secrets.to_dict() == {"My_Token": "s3cr3t"}
    assert cfg.x.y == [1, 2] and cfg.debug is True


def test_config_is_read_only_and_says_how_to_set_it():
    with pytest.raises(ConfigReadOnlyError, match=r"config\.flows\.checkpointing cannot be "
                       r"changed .* PREFECT__FLOWS__CHECKPOINTING .*context\(checkpointing"):
        config.flows.checkpointing = False
    with pytest.raises(ConfigReadOnlyError, match="PREFECT__LOGGING__LEVEL"):
        config.logging["level"] = "DEBUG"
    assert config.flows.checkpointing is True


def test_context_secrets_from_the_environment():
    code = ("import prefect_dask as p\n"
            "print(p.context.secrets['My_Token'], p.config.context.secrets.My_Token)\n")
    env = {**os.environ, "PREFECT__CONTEXT__SECRETS__My_Token": "abc",
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["abc", "abc"], out.stderr


# -- checkpointing -----------------------------------------------------------------
def _flow(tmp_path):
    store = LocalResult(dir=tmp_path / "results")
    with Flow("checkpointed") as flow:
        inc(one.copy(result=store, checkpoint=True))   # checkpoint=True ...
        inc.copy(result=store)(5)                      # ... or a result set on the task
    return flow, tmp_path / "results"


def _written(where):
    return sorted(p for p in where.rglob("*") if p.is_file()) if where.exists() else []


def test_checkpointing_default_writes_where_a_result_is_set(tmp_path, any_executor):
    flow, where = _flow(tmp_path)
    state = flow.run(executor=any_executor)
    assert state.is_successful() and len(_written(where)) == 2


def test_context_checkpointing_false_writes_nothing(tmp_path, any_executor):
    flow, where = _flow(tmp_path)
    with context(checkpointing=False):
        state = flow.run(executor=any_executor)
    assert state.is_successful() and _written(where) == []
    assert sorted(s.result for s in state.result.values()) == [1, 2, 6]


def test_tasks_see_the_checkpointing_switch(executor):
    @task
    def seen():
        return context.get("checkpointing")

    with Flow("switch") as flow:
        s = seen()
    assert flow.run(executor=executor).result[s].result is True
    with context(checkpointing=False):
        assert flow.run(executor=executor).result[s].result is False


def test_environment_switch_turns_checkpointing_off(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        "import sys\n"
        "from prefect_dask import Flow, task, config\n"
        "from prefect_dask.results import LocalResult\n"
        "@task(result=LocalResult(dir=sys.argv[1]))\n"
        "def one():\n    return 1\n"
        "with Flow('env') as flow:\n    one()\n"
        "assert flow.run().is_successful()\n"
        "print('SWITCH', config.flows.checkpointing)\n")
    out_dir = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT__FLOWS__CHECKPOINTING": "false"}
    out = subprocess.run([sys.executable, str(script), str(out_dir)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert "SWITCH False" in out.stdout, out.stderr
    assert _written(out_dir) == []
    env["PREFECT__FLOWS__CHECKPOINTING"] = "true"
    out = subprocess.run([sys.executable, str(script), str(out_dir)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert "SWITCH True" in out.stdout, out.stderr
    assert len(_written(out_dir)) == 1


# -- FlowRunner --------------------------------------------------------------------
def _numbers_flow():
    with Flow("runner") as flow:
        p = Parameter("p", default=1)
        a = inc(p)
        b = inc(a)
    return flow, p, a, b


def test_flow_runner_returns_only_the_tasks_asked_for(executor):
    flow, p, a, b = _numbers_flow()
    state = FlowRunner(flow).run(executor=executor)
    assert state.is_successful() and state.result == {}
    state = FlowRunner(flow=flow).run(parameters={"p": 5}, return_tasks=[b], executor=executor)
    assert list(state.result) == [b] and state.result[b].result == 7


def test_flow_runner_task_states(executor):
    flow, p, a, b = _numbers_flow()
    state = FlowRunner(flow).run(task_states={a: Success(result=10)}, return_tasks=flow.tasks,
                                 executor=executor)
    assert state.result[b].result == 11 and state.result[p].result == 1


def test_flow_runner_mistakes_name_the_fix():
    flow, p, a, b = _numbers_flow()
    with pytest.raises(ValueError, match=r"flow 'runner'.*not found in the flow; pass tasks "
                                         r"of this flow"):
        FlowRunner(flow).run(return_tasks=[one])
    with pytest.raises(TypeError, match=r"task_runner_cls=.*put state handlers on the flow"):
        FlowRunner(flow, task_runner_cls=object)


def test_task_runner_runs_one_task_after_given_upstream_states(executor):
    from prefect_dask import Task
    from prefect_dask.engine import TaskRunner
    from prefect_dask.flow import Edge
    from prefect_dask.states import Failed, TriggerFailed
    from tasks import add

    assert TaskRunner(task=one).run(executor=executor).result == 1
    a, b = Task(name="a"), Task(name="b")
    state = TaskRunner(add).run(upstream_states={Edge(a, add, key="x"): Success(result=1),
                                                 Edge(b, add, key="y"): Success(result=2)},
                                executor=executor)
    assert state.is_successful() and state.result == 3
    state = TaskRunner(one).run(upstream_states={Edge(Task(), one): Failed("no")})
    assert isinstance(state, TriggerFailed)
    with pytest.raises(ValueError, match=r"TaskRunner\(task 'one'\).*does not lead to this "
                                         r"task; build it as Edge\(upstream, task"):
        TaskRunner(one).run(upstream_states={Edge(a, add, key="x"): Success(result=1)})


# -- what needs a Prefect server ---------------------------------------------------
def test_server_features_are_importable_and_refuse_to_run():
    from prefect_dask import Client
    from prefect_dask.agent import LocalAgent
    from prefect_dask.backend import FlowRunView, set_key_value
    from prefect_dask.tasks.prefect import StartFlowRun, create_flow_run, wait_for_flow_run

    needs = r"needs a Prefect Server or Prefect Cloud backend.*Instead: "
    with pytest.raises(NeedsServerError, match=needs + "read recorded runs with `prefect-dask"):
        Client()
    with pytest.raises(NeedsServerError, match=needs + r"run the other flow .*other_flow.run"):
        StartFlowRun(flow_name="child", project_name="p", wait=True)
    with Flow("parent"):
        with pytest.raises(NeedsServerError, match=r"create_flow_run needs a Prefect Server"):
            create_flow_run(flow_name="child")
        with pytest.raises(NeedsServerError, match=r"wait_for_flow_run needs"):
            wait_for_flow_run.map(["id"])
    with pytest.raises(NeedsServerError, match=r"LocalAgent\(...\) needs.*schedule"):
        LocalAgent(labels=["x"])
    with pytest.raises(NeedsServerError, match=r"FlowRunView.from_flow_run_id needs"):
        FlowRunView.from_flow_run_id("x")
    with pytest.raises(NeedsServerError, match=r"set_key_value needs"):
        set_key_value("k", "v")
    flow = _numbers_flow()[0]
    with pytest.raises(NeedsServerError, match=r"flow.register\(\) \(flow 'runner'\) needs.*"
                                               r"flow.run\(\)"):
        flow.register(project_name="p")
    with pytest.raises(NeedsServerError, match=r"flow.run_agent\(\) \(flow 'runner'\)"):
        flow.run_agent()


def test_storage_and_run_configs_can_be_set_and_the_flow_still_runs():
    from prefect_dask.artifacts import create_markdown
    from prefect_dask.backend import create_link_artifact
    from prefect_dask.run_configs import DockerRun, LocalRun
    from prefect_dask.storage import Docker, GitHub

    flow, p, a, b = _numbers_flow()
    flow.storage = GitHub(repo="org/repo", path="flows/f.py")
    flow.run_config = LocalRun(env={"A": "1"}, labels=["dev"])
    assert DockerRun(image="x").labels == set()
    assert flow.run().result[b].result == 3
    with pytest.raises(NeedsServerError, match=r"storage.Docker needs.*flow.save\(path\)"):
        Docker(image_name="x").build()

    @task
    def report():
        return create_markdown("# hi"), create_link_artifact("http://x")

    with Flow("artifacts") as flow2:
        r = report()
    assert flow2.run().result[r].result == (None, None)


def test_callback_factory_on_tasks_and_flows(executor):
    from prefect_dask.utilities.notifications import callback_factory

    seen = []
    handler = callback_factory(lambda obj, state: seen.append((obj.name, type(state).__name__)),
                               lambda state: state.is_finished())

    @task(state_handlers=[handler])
    def fine():
        return 1

    with Flow("callbacks", state_handlers=[handler]) as flow:
        fine()
    assert flow.run(executor=executor).is_successful()
    assert seen == [("fine", "Success"), ("callbacks", "Success")]
    with pytest.raises(TypeError, match=r"callback_factory\(fn, check\): both must be callables"):
        callback_factory(print, None)


def test_default_executor_from_prefect_1_setting(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        "import threading\n"
        "from prefect_dask import Flow, task\n"
        "@task\n"
        "def where():\n    return threading.current_thread() is threading.main_thread()\n"
        "with Flow('default-executor') as flow:\n    w = where()\n"
        "print('MAIN', flow.run().result[w].result)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PREFECT__ENGINE__EXECUTOR__DEFAULT_CLASS": "prefect.executors.LocalDaskExecutor"}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert "MAIN False" in out.stdout, out.stderr
    del env["PREFECT__ENGINE__EXECUTOR__DEFAULT_CLASS"]
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert "MAIN True" in out.stdout, out.stderr


def test_a_bad_default_executor_setting_names_the_variable():
    from prefect_dask.errors import ExecutorError
    from prefect_dask.executors import default_executor

    with pytest.raises(ExecutorError, match=r"'prefect.executors.Nope' \(PREFECT__ENGINE__"
                                            r"EXECUTOR__DEFAULT_CLASS\) cannot be imported.*"
                                            r"or unset the variable"):
        default_executor("prefect.executors.Nope")
