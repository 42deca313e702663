"""Prefect 1 patterns that compat runs found missing, each checked against Prefect 1.4.1.

* state handlers set any attribute on the state they are given (``new_state.timestamp``)
  and read ``state.context`` / ``state.cached_inputs``;
* ``prefect.utilities.debug.is_serializable`` (a fresh Python loads the pickle);
* a task called with arguments its ``run`` does not take is a TypeError, in a flow or not
  (Prefect 1 binds the arguments before it looks for the flow);
* ``S3Result``, ``GCSResult``, ``AzureResult`` are the fsspec store of their URL: built
  without the cloud packages, and saying which to ``pip install`` when first used.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from prefect_dask import Flow, task
from prefect_dask.states import Failed, Pending, Success

ROOT = Path(__file__).resolve().parent.parent


def _compat(program: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "program.py").write_text(program)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.run([sys.executable, "-m", "prefect_dask.compat", "program.py", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)


def _result_line(out: subprocess.CompletedProcess) -> dict:
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


# -- state attributes handlers set and read ---------------------------------------------

def test_a_handler_timestamps_states_and_reads_the_previous_stamp(executor):
    gaps = []

    def stamp(t, old, new):
        new.timestamp = datetime.datetime.now(datetime.timezone.utc)
        new.context["kind"] = type(new).__name__
        if hasattr(old, "timestamp"):
            gaps.append((type(old).__name__, (new.timestamp - old.timestamp).total_seconds() >= 0,
                         old.context["kind"]))
        return new

    @task(state_handlers=[stamp])
    def work():
        return 1

    with Flow("stamped") as flow:
        out = work()
    final = flow.run(executor=executor).result[out]
    assert gaps == [("Running", True, "Running")]
    assert isinstance(final.timestamp, datetime.datetime) and final.context == {"kind": "Success"}
    assert final.result == 1


def test_handler_attributes_stay_on_their_state():
    given = Success("ok", result=1, context={"a": 1})
    from prefect_dask.states import editable, frozen
    copy = editable(given)
    copy.timestamp = 5
    copy.context["b"] = 2
    copy.cached_inputs["x"] = 3
    done = frozen(copy)
    assert given.context == {"a": 1} and not hasattr(given, "timestamp")   # the original
    assert (done.timestamp, done.context, done.cached_inputs) == (5, {"a": 1, "b": 2}, {"x": 3})
    assert done.replace(message="m").timestamp == 5 and done.with_result(2).timestamp == 5
    again = pickle.loads(pickle.dumps(done))
    assert again == done and again.timestamp == 5 and again.context == done.context
    assert done != Success(result=1)        # as in Prefect 1: a set attribute counts
    assert not hasattr(Failed.from_state(done), "timestamp")   # a new state starts afresh
    assert Failed.from_state(done).context == {}


def test_fresh_states_have_prefect_1_attributes_and_stay_immutable():
    s = Pending()
    assert s.context == {} and s.cached_inputs == {} and not hasattr(s, "timestamp")
    assert Success(context={"t": 1}, cached_inputs={"x": 1}).context == {"t": 1}
    with pytest.raises(dataclasses.FrozenInstanceError, match=r"'timestamp'.*state\.replace"):
        s.timestamp = 1
    with pytest.raises(TypeError):
        s.context["k"] = 1   # not the state's: a frozen state's empty context is read-only
    assert pickle.loads(pickle.dumps(s)).context == {}


STAMPING = '''
import datetime
import json
import prefect
from prefect import Flow, task
from prefect.engine.state import Success

seen = []

def stamp(task, old_state, new_state):
    new_state.timestamp = datetime.datetime.now(datetime.timezone.utc)
    new_state.context["note"] = type(new_state).__name__
    if hasattr(old_state, "timestamp"):
        gap = (new_state.timestamp - old_state.timestamp).total_seconds()
        seen.append([type(old_state).__name__, type(new_state).__name__, gap >= 0,
                     old_state.context.get("note")])
        task.logger.info("%s -> %s", type(old_state).__name__, type(new_state).__name__)
    else:
        seen.append([type(old_state).__name__, type(new_state).__name__, None,
                     dict(old_state.context), dict(old_state.cached_inputs)])
    return new_state

@task(state_handlers=[stamp])
def work(x):
    return x * 2

with Flow("stamped") as flow:
    out = work(21)

if __name__ == "__main__":
    state = flow.run()
    final = state.result[out]
    print("RESULT", json.dumps({
        "flow": type(state).__name__, "task": type(final).__name__, "result": final.result,
        "seen": seen, "stamped": isinstance(final.timestamp, datetime.datetime),
        "context": final.context.get("note"), "fresh": hasattr(Success(), "timestamp"),
        "fresh context": dict(Success().context)}))
'''


def test_compat_timestamping_handler_runs_unchanged(tmp_path):
    """What Prefect 1.4.1 printed for the same program."""
    assert _result_line(_compat(STAMPING, tmp_path)) == {
        "flow": "Success", "task": "Success", "result": 42,
        "seen": [["Pending", "Running", None, {}, {}], ["Running", "Success", True, "Running"]],
        "stamped": True, "context": "Success", "fresh": False, "fresh context": {}}


# -- prefect.utilities.debug ---------------------------------------------------------------

def test_is_serializable_loads_the_object_in_a_fresh_python(tmp_path, monkeypatch):
    import threading

    from prefect_dask.utilities.debug import is_serializable

    @task
    def local_task(x):
        return x

    assert is_serializable(len) and is_serializable(local_task) and is_serializable({"a": [1]})
    assert not is_serializable(threading.Lock())
    with pytest.raises(TypeError, match="pickle"):
        is_serializable(threading.Lock(), raise_on_error=True)
    # a class only this process can import (its folder is on this sys.path alone)
    (tmp_path / "only_here_mod.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from only_here_mod import Thing
    assert not is_serializable(Thing())
    with pytest.raises(subprocess.CalledProcessError) as info:
        is_serializable(Thing(), raise_on_error=True)
    assert b"No module named 'only_here_mod'" in info.value.output


DEBUG = '''
import json
import threading
import prefect
from prefect import Flow, task
from prefect.utilities.debug import is_serializable, raise_on_exception
from prefect.utilities import debug

@task
def where(x):
    return prefect.context.get("map_index")

@task
def boom():
    raise ValueError("boom")

with Flow("debug") as flow:
    boom()

out = {"len": is_serializable(len), "lock": is_serializable(threading.Lock()),
       "task": is_serializable(where), "same": debug.is_serializable is is_serializable}
try:
    is_serializable(threading.Lock(), raise_on_error=True)
except Exception as exc:
    out["lock error"] = type(exc).__name__
try:
    with raise_on_exception():
        flow.run()
except ValueError as exc:
    out["raised"] = str(exc)
print("RESULT", json.dumps(out))
'''


def test_compat_debug_module(tmp_path):
    """What Prefect 1.4.1 printed for the same program."""
    assert _result_line(_compat(DEBUG, tmp_path)) == {
        "len": True, "lock": False, "task": True, "same": True, "lock error": "TypeError",
        "raised": "boom"}


# -- binding before the flow ---------------------------------------------------------------

def test_a_bad_call_outside_a_flow_is_a_type_error_before_the_missing_flow():
    from prefect_dask.errors import NoFlowContextError, TaskBindError

    @task
    def add(x, y):
        return x + y

    for call in (lambda: add(1), lambda: add(1, z=3), lambda: add.map([1])):
        with pytest.raises(TypeError, match=r"Task 'add' cannot be called with these arguments: "
                                            r"missing a required argument: 'y'.*add\(x, y\)"):
            call()
    with pytest.raises(TaskBindError, match="too many positional arguments"):
        add(1, 2, 3)
    # a call that matches run() still says what is missing: the flow
    with pytest.raises(NoFlowContextError, match=r"called outside a flow.*add\.run\(\.\.\.\)"):
        add(1, 2)
    with pytest.raises(ValueError, match="called outside a flow"):   # Prefect 1's type
        add.map([1], [2])


# -- S3Result, GCSResult, AzureResult --------------------------------------------------------

def _cloud_packages_missing(*names: str) -> bool:
    import importlib.util
    return all(importlib.util.find_spec(n) is None for n in names)


@pytest.mark.skipif(not _cloud_packages_missing("s3fs", "gcsfs", "adlfs"),
                    reason="a cloud filesystem package is installed")
def test_cloud_results_build_without_their_packages_and_say_what_to_install():
    from prefect_dask.results import (AzureResult, FSSpecResult, GCSResult, ResultWriteError,
                                      S3Result)

    s3 = S3Result(bucket="bkt", boto3_kwargs={"region_name": "eu-west-1"},
                  upload_options={"ServerSideEncryption": "AES256"}, location="{task_name}.pkl")
    gcs, az = GCSResult(bucket="g"), AzureResult(container="c", connection_string="cs")
    assert isinstance(s3, FSSpecResult) and (s3.bucket, s3.location) == ("bkt", "{task_name}.pkl")
    assert (gcs.bucket, az.container) == ("g", "c")
    assert (s3.url, gcs.url, az.url) == ("s3://bkt", "gs://g", "az://c")
    assert s3.storage_options == {"client_kwargs": {"region_name": "eu-west-1"},
                                  "s3_additional_kwargs": {"ServerSideEncryption": "AES256"}}
    assert az.storage_options == {"connection_string": "cs"}
    for result, package in ((s3, "s3fs"), (gcs, "gcsfs"), (az, "adlfs")):
        with pytest.raises(ResultWriteError,
                           match=rf"{type(result).__name__}\(.*needs {package} to reach "
                                 rf"{result.url}: pip install {package}"):
            result.put(1, "x.pkl")
    with pytest.raises(ValueError, match="GCSResult needs the name of a bucket"):
        GCSResult()
    with pytest.raises(TypeError, match=r"S3Result\(\) got unexpected arguments \['bukket'\]"):
        S3Result(bucket="b", bukket="c")


@pytest.fixture
def s3_in_memory(monkeypatch):
    """fsspec's in-memory filesystem serving ``s3://`` (a real filesystem, its own store)."""
    import importlib

    from fsspec.implementations.memory import MemoryFileSystem

    class S3InMemory(MemoryFileSystem):
        protocol = ("s3",)
        store: dict = {}
        pseudo_dirs = [""]

    monkeypatch.setitem(importlib.import_module("fsspec.registry")._registry, "s3", S3InMemory)
    return S3InMemory


def test_s3_result_checkpoints_through_its_filesystem(executor, s3_in_memory):
    from prefect_dask.results import S3Result

    store = S3Result(bucket="results", location="{task_name}-{map_index}.pkl")

    @task(result=store, checkpoint=True)
    def square(x):
        return {"sq": x * x}

    with Flow("s3") as flow:
        out = square.map([2, 3])
    children = flow.run(executor=executor).result[out].map_states
    assert [c.location for c in children] == ["s3://results/square-0.pkl",
                                              "s3://results/square-1.pkl"]
    assert store.get("square-1.pkl") == {"sq": 9} and store.exists("square-0.pkl")
    assert sorted(store.stored("")) == ["square-0.pkl", "square-1.pkl"]
    assert store.load("s3://results/square-0.pkl") == {"sq": 4}


RESULTS = '''
import json
from prefect import Flow, task
from prefect.engine.results import AzureResult, GCSResult, S3Result
from prefect.engine.results.s3_result import S3Result as S3

store = S3Result(bucket="my-bucket", location="{task_name}.pkl")

@task(result=store, checkpoint=True)
def one():
    return 1

with Flow("s3") as flow:
    out = one()

state = flow.run()
print("RESULT", json.dumps({
    "built": [store.bucket, store.location, GCSResult(bucket="g").bucket,
              AzureResult(container="c").container, S3 is S3Result],
    "flow": type(state).__name__, "task": type(state.result[out]).__name__,
    "message": str(state.result[out].message)}))
'''


@pytest.mark.skipif(not _cloud_packages_missing("s3fs", "boto3"), reason="s3 packages installed")
def test_compat_s3_result_without_its_package(tmp_path):
    """Prefect 1.4.1 (with PREFECT__FLOWS__CHECKPOINTING=true, no boto3) built the same and
    failed the task on writing, with ModuleNotFoundError("No module named 'botocore'")."""
    out = _result_line(_compat(RESULTS, tmp_path))
    assert out.pop("message").startswith(
        "Task 'one': its result could not be checkpointed: S3Result(bucket='my-bucket') needs "
        "s3fs to reach s3://my-bucket: pip install s3fs")
    assert out == {"built": ["my-bucket", "{task_name}.pkl", "g", "c", True],
                   "flow": "Failed", "task": "Failed"}
