"""Results and checkpoints (issue 5): stores, serializers, targets, the safe file format.

Every test points ``PREFECT_DASK_HOME`` at its own ``tmp_path`` and clears
``PREFECT_DASK_RESULT_KEY``.  "Never unpickled" is proved with a pickle payload
whose ``__reduce__`` would create a marker file: after a refused read the
marker must not exist (and a control shows the payload does create it when
unpickled).  Cross-process behaviour (skip-if-done, concurrent writers) runs
real subprocesses with ``sys.executable``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import cloudpickle
import pytest

from prefect_dask import Flow, Parameter, task
from prefect_dask.errors import TargetError
from prefect_dask.results import (CorruptResultError, FSSpecResult, JSONSerializer, LocalResult,
                                  PrefectResult,
                                  MemoryResult, MsgPackSerializer, PickleSerializer, Result,
                                  ResultWriteError, encode, read_value,
                                  write_value)
from prefect_dask.states import Cached, Failed, Mapped, Success

MAGIC_PLAIN, MAGIC_HMAC = b"PDR2", b"PDH2"


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]


# -- a payload that would run code if unpickled --------------------------------------

class Evil:
    """Unpickling this calls ``open(marker, "w")``: the marker appears iff it was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_body(marker: Path) -> bytes:
    """A serializer tag plus a pickle that creates ``marker`` when loaded."""
    return b"pckl" + pickle.dumps(Evil(marker))


def test_the_evil_payload_really_runs_when_unpickled(tmp_path):
    """The control for every "never unpickled" test below."""
    marker = tmp_path / "control-marker"
    cloudpickle.loads(evil_body(marker)[4:]).close()
    assert marker.exists()


# -- serializers ---------------------------------------------------------------------

@pytest.mark.parametrize("serializer, value", [
    (PickleSerializer(), {"a": {1, 2}, "f": complex(1, 2), "t": (1, "x")}),
    (JSONSerializer(), {"a": [1, 2.5, None, True], "b": {"c": "d"}}),
    (MsgPackSerializer(), {"a": [1, 2.5, None, True], "b": b"\x00\xff", 3: "int key"}),
], ids=["pickle", "json", "msgpack"])
def test_serializers_round_trip(tmp_path, serializer, value):
    assert serializer.loads(serializer.dumps(value)) == value
    path = tmp_path / "v.bin"
    write_value(path, value, serializer)
    assert read_value(path) == value                     # the tag in the file picks the reader
    store = LocalResult(tmp_path / "store", serializer=serializer)
    where = store.put(value, "sub/v.bin")
    assert store.get("sub/v.bin") == value
    assert store.load(where) == value
    assert Path(where).read_bytes()[36:40] == serializer.tag


def test_pickle_is_the_default_and_handles_functions(tmp_path):
    store = LocalResult(tmp_path)
    store.put(lambda x: x + 1, "f.pkl")
    assert store.get("f.pkl")(1) == 2
    assert (tmp_path / "f.pkl").read_bytes()[36:40] == b"pckl"


def test_json_file_payload_is_plain_json(tmp_path):
    write_value(tmp_path / "v.json", {"k": [1, 2]}, JSONSerializer())
    assert json.loads((tmp_path / "v.json").read_bytes()[40:]) == {"k": [1, 2]}


@pytest.mark.parametrize("serializer, bad, type_name", [
    (JSONSerializer(), {1, 2}, "set"),
    (MsgPackSerializer(), object(), "object"),
], ids=["json", "msgpack"])
def test_unserializable_result_fails_the_task_naming_task_and_type(executor, tmp_path,
                                                                   serializer, bad, type_name):
    @task(name="produce", result=LocalResult(tmp_path / "r", serializer=serializer),
          checkpoint=True)
    def produce():
        return bad

    @task
    def after(x):
        return x

    with Flow("unserializable") as flow:
        out = after(produce())
    state = flow.run(executor=executor)
    assert state.is_failed()
    failed = state.result[flow.get_tasks(name="produce")[0]]
    assert isinstance(failed, Failed)
    assert "'produce'" in failed.message
    assert type_name in failed.message and type(serializer).__name__ in failed.message
    # the result is the serializer's own error, as in Prefect 1; the message explains it
    assert isinstance(failed.result, TypeError) and not isinstance(failed.result, ResultWriteError)
    assert state.result[out].is_failed()                 # downstream: TriggerFailed
    assert not (tmp_path / "r").exists() or stored_files(tmp_path / "r") == []


# -- Result() picks a store -------------------------------------------------------------

def test_result_factory_picks_the_store(tmp_path):
    assert isinstance(Result(), MemoryResult)
    assert isinstance(Result(str(tmp_path)), LocalResult)
    local = Result(f"file://{tmp_path}")
    assert isinstance(local, LocalResult) and local.dir == tmp_path
    assert isinstance(Result("memory://bucket/x"), FSSpecResult)


def test_memory_result_persists_nothing(executor, home):
    @task(result=MemoryResult(), checkpoint=True)
    def value():
        return 5

    with Flow("mem") as flow:
        out = value()
    state = flow.run(executor=executor)
    assert state.result[out].result == 5 and state.result[out].location is None
    assert not (home / "results").exists()


def test_fsspec_memory_filesystem(executor, rec):
    import fsspec

    url = f"memory://pd-{uuid.uuid4().hex}"
    store = Result(url)
    where = store.put({"a": 1}, "dir/x.pkl")
    assert where == f"{url}/dir/x.pkl"
    assert store.exists("dir/x.pkl") and store.get("dir/x.pkl") == {"a": 1}
    assert store.load(where) == {"a": 1}
    fs = fsspec.filesystem("memory")
    assert fs.cat(where)[:4] == MAGIC_PLAIN
    assert [p for p in fs.find(url) if "tmp" in p] == []     # temporary name moved away

    @task(target="{task_name}-{parameters[day]}.pkl")
    def load(day):
        rec.add(day)
        return f"data of {day}"

    with Flow("fsspec", result=Result(url)) as flow:
        out = load(Parameter("day"))
    first = flow.run(executor=executor, day="mon").result[out]
    assert type(first) is Success and first.location == f"{url}/load-mon.pkl"
    second = flow.run(executor=executor, day="mon").result[out]
    assert isinstance(second, Cached) and second.result == "data of mon"
    assert rec.items == ["mon"]
    fs.rm(url, recursive=True)


def test_fsspec_memory_corrupt_file_is_refused(tmp_path):
    import fsspec

    url = f"memory://pd-{uuid.uuid4().hex}"
    store = Result(url)
    store.put(1, "x.pkl")
    fs = fsspec.filesystem("memory")
    marker = tmp_path / "marker"
    fs.pipe(f"{url}/x.pkl", MAGIC_PLAIN + b"\0" * 32 + evil_body(marker))
    with pytest.raises(CorruptResultError, match="x.pkl"):
        store.get("x.pkl")
    assert not marker.exists()
    fs.rm(url, recursive=True)


# -- checkpoints --------------------------------------------------------------------

def test_checkpoint_true_writes_under_home(executor, home):
    @task(checkpoint=True)
    def value():
        return {"v": 1}

    @task
    def plain():
        return 2

    with Flow("ckpt") as flow:
        a = value()
        b = plain()
    state = flow.run(executor=executor)
    sa, sb = state.result[a], state.result[b]
    assert sa.location and Path(sa.location).is_file()
    assert Path(sa.location).is_relative_to(home / "results")
    assert read_value(sa.location) == {"v": 1}
    assert sb.location is None                          # no checkpoint asked for
    assert stored_files(home / "results") == [Path(sa.location)]


def test_flow_result_checkpoints_every_task(executor, tmp_path):
    store_dir = tmp_path / "store"

    @task
    def one():
        return 1

    @task
    def add(x, y):
        return x + y

    @task(checkpoint=False)
    def not_me(x):
        return x

    @task
    def double(x):
        return 2 * x

    with Flow("flow-result", result=LocalResult(store_dir)) as flow:
        a = one()
        b = add(a, 10)
        c = not_me(b)
        m = double.map([1, 2, 3])
    state = flow.run(executor=executor)
    assert state.is_successful()
    for t, value in ((a, 1), (b, 11)):
        loc = state.result[t].location
        assert Path(loc).is_relative_to(store_dir) and read_value(loc) == value
    assert state.result[c].location is None
    children = state.result[m].map_states
    assert [read_value(ch.location) for ch in children] == [2, 4, 6]
    files = stored_files(store_dir)
    assert set(files) >= {Path(state.result[a].location), Path(state.result[b].location)}
    assert temp_files(store_dir) == []


def test_unwritable_result_directory_fails_the_task(executor, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    @task(name="write_me", result=LocalResult(blocker / "sub"), checkpoint=True)
    def write_me():
        return 1

    with Flow("unwritable") as flow:
        out = write_me()
    state = flow.run(executor=executor)
    failed = state.result[out]
    assert state.is_failed() and isinstance(failed, Failed)
    assert "'write_me'" in failed.message and str(blocker) in failed.message


# -- targets -------------------------------------------------------------------------

def test_target_skip_if_done(executor, rec, home):
    @task(target="out/{task_name}.pkl", checkpoint=True)
    def expensive():
        rec.add("ran")
        return [1, 2, 3]

    @task
    def total(xs):
        return sum(xs)

    with Flow("skip-if-done") as flow:
        s = total(expensive())
    first = flow.run(executor=executor)
    target_file = home / "results" / "out" / "expensive.pkl"
    assert first.result[s].result == 6 and target_file.is_file()
    second = flow.run(executor=executor)
    e = flow.get_tasks(name="expensive")[0]
    assert isinstance(second.result[e], Cached)
    assert second.result[e].message == "Result found at task target."
    assert second.result[e].result == [1, 2, 3] and second.result[s].result == 6
    assert rec.items == ["ran"]


def test_target_templates_over_parameters_inputs_and_names(executor, rec, tmp_path):
    store = tmp_path / "store"

    @task(target="{flow_name}/{task_name}/{parameters[day]}-{day}-{x}.pkl")
    def load(x, day):
        rec.add((x, day))
        return f"{x}@{day}"

    with Flow("tmpl", result=LocalResult(store)) as flow:
        day = Parameter("day")
        out = load(x=7, day=day)

    assert flow.run(executor=executor, day="mon").result[out].result == "7@mon"
    assert read_value(store / "tmpl" / "load" / "mon-mon-7.pkl") == "7@mon"
    assert flow.run(executor=executor, day="tue").result[out].result == "7@tue"
    assert isinstance(flow.run(executor=executor, day="mon").result[out], Cached)
    assert rec.items == [(7, "mon"), (7, "tue")]
    assert sorted(p.name for p in stored_files(store / "tmpl" / "load")) == \
        ["mon-mon-7.pkl", "tue-tue-7.pkl"]


def test_target_map_index_per_child(executor, rec, tmp_path):
    store = tmp_path / "store"

    @task(target="{task_name}/{map_index}-{parameters[day]}.pkl")
    def part(x):
        rec.add(x)
        if x == "bad":
            raise ValueError("bad child")
        return x.upper()

    with Flow("mapped-target", result=LocalResult(store)) as flow:
        xs = Parameter("xs")
        out = part.map(xs)
    flow.add_task(Parameter("day"))

    first = flow.run(executor=executor, xs=["a", "bad", "c"], day="d1").result[out]
    assert isinstance(first, Mapped)
    assert [type(c).__name__ for c in first.map_states] == ["Success", "Failed", "Success"]
    assert sorted(p.name for p in stored_files(store / "part")) == ["0-d1.pkl", "2-d1.pkl"]
    second = flow.run(executor=executor, xs=["a", "b", "c"], day="d1").result[out]
    assert [type(c).__name__ for c in second.map_states] == ["Cached", "Success", "Cached"]
    assert second.result == ["A", "B", "C"]
    assert rec.items.count("a") == 1 and rec.items.count("c") == 1 and "b" in rec.items


def test_callable_target(executor, rec, tmp_path):
    def where(**fields):
        return f"cb/{fields['task_name']}-{fields['n']}.pkl"

    @task(target=where)
    def square(n):
        rec.add(n)
        return n * n

    with Flow("callable-target", result=LocalResult(tmp_path)) as flow:
        out = square(Parameter("n"))
    assert flow.run(executor=executor, n=3).result[out].result == 9
    assert (tmp_path / "cb" / "square-3.pkl").is_file()
    assert isinstance(flow.run(executor=executor, n=3).result[out], Cached)
    assert rec.items == [3]


def test_unknown_template_field_raises_before_running(executor, rec, home):
    @task(name="load", target="{task_name}/{parameters[day]}-{dya}.pkl")
    def load(day):
        rec.add(day)
        return day

    with Flow("typo") as flow:
        load(Parameter("day"))
    with pytest.raises(TargetError) as info:
        flow.run(executor=executor, day="mon")
    msg = str(info.value)
    assert "'dya'" in msg and "'typo'" in msg and "'load'" in msg
    assert "available fields" in msg
    for name in ("day", "task_name", "map_index", "parameters", "flow_run_id", "today"):
        assert name in msg.split("available fields")[1]
    assert rec.items == []
    assert not (home / "results").exists()


def test_invalid_template_syntax_raises(executor):
    @task(target="{task_name")
    def t():
        return 1

    with Flow("bad-syntax") as flow:
        t()
    with pytest.raises(TargetError, match="not a valid template"):
        flow.run(executor=executor)


def test_target_skip_if_done_across_processes(tmp_path, home):
    script = tmp_path / "flow_file.py"
    script.write_text(textwrap.dedent('''
        import sys
        from prefect_dask import Flow, Parameter, task

        @task(target="{task_name}/{parameters[day]}.pkl", checkpoint=True)
        def extract(day):
            with open(sys.argv[1], "a") as fh:
                fh.write(f"extract {day}\\n")
            return {"day": day}

        with Flow("xproc-target") as flow:
            out = extract(Parameter("day"))

        state = flow.run(day=sys.argv[2])
        s = state.result[out]
        print(type(s).__name__, s.result["day"])
    '''))
    side = tmp_path / "side.txt"
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    outs = []
    for day in ("mon", "mon", "tue"):
        proc = subprocess.run([sys.executable, str(script), str(side), day], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout.strip())
    assert outs == ["Success mon", "Cached mon", "Success tue"]
    assert side.read_text().splitlines() == ["extract mon", "extract tue"]


# -- atomic writes -----------------------------------------------------------------

def test_atomic_write_leaves_no_temporary_files(tmp_path):
    store = LocalResult(tmp_path)
    for i in range(20):
        store.put(list(range(i)), "same.pkl")
        store.put(i, f"k/{i}.pkl")
    assert temp_files(tmp_path) == []
    assert store.get("same.pkl") == list(range(19))


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    store = LocalResult(tmp_path)
    store.put("old", "x.pkl")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ResultWriteError, match="x.pkl"):
        store.put("new", "x.pkl")
    monkeypatch.undo()
    assert store.get("x.pkl") == "old"
    assert temp_files(tmp_path) == []


WRITER = '''
import sys
from prefect_dask.results import LocalResult
root, name, fill, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = LocalResult(root)
value = fill * 400_000          # a few hundred kB: a torn write would be visible
for _ in range(n):
    store.put(value, name)
'''


def test_concurrent_writers_never_leave_a_torn_file(tmp_path):
    """Three processes rewrite one file while this one reads it: every read is a whole value."""
    root = tmp_path / "shared"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(root), "t.pkl", fill, "40"])
             for fill in ("a", "b", "c")]
    reads = 0
    store = LocalResult(root)
    try:
        while any(p.poll() is None for p in procs):
            try:
                value = store.get("t.pkl")
            except FileNotFoundError:
                continue
            reads += 1
            assert len(value) == 400_000 and value == value[0] * 400_000
    finally:
        codes = [p.wait(timeout=60) for p in procs]
    assert codes == [0, 0, 0]
    final = store.get("t.pkl")
    assert final in ("a" * 400_000, "b" * 400_000, "c" * 400_000)
    print("whole reads during the writes:", reads)
    assert reads > 0
    assert temp_files(root) == []


def test_two_processes_running_a_flow_with_one_target(tmp_path, home):
    """Two flow runs racing to write the same target both succeed; the file is whole."""
    script = tmp_path / "race.py"
    script.write_text(textwrap.dedent('''
        import sys
        from prefect_dask import Flow, task

        @task(target="race/{task_name}.pkl")
        def big():
            return sys.argv[1] * 300_000

        with Flow("race") as flow:
            out = big()
        state = flow.run()
        print(type(state.result[out]).__name__)
        sys.exit(0 if state.is_successful() else 1)
    '''))
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, str(script), fill], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for fill in ("x", "y")]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    value = read_value(home / "results" / "race" / "big.pkl")
    assert value in ("x" * 300_000, "y" * 300_000)
    assert temp_files(home / "results") == []


# -- corrupted and tampered files ---------------------------------------------------

def corruptions(good: bytes, marker: Path) -> dict[str, bytes]:
    flipped = bytearray(good)
    flipped[-5] ^= 0xFF
    return {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "random": os.urandom(300),
        "header-only": good[:36],
        "flipped-byte": bytes(flipped),
        "evil-bad-digest": MAGIC_PLAIN + good[4:36] + evil_body(marker),
        "evil-no-magic": pickle.dumps(Evil(marker)),
        "unknown-serializer": MAGIC_PLAIN + hashlib.sha256(b"zzzz1").digest() + b"zzzz1",
    }


@pytest.mark.parametrize("kind", ["truncated", "empty", "random", "header-only", "flipped-byte",
                                  "evil-bad-digest", "evil-no-magic", "unknown-serializer"])
def test_corrupted_file_is_refused_naming_it(tmp_path, kind):
    marker = tmp_path / "marker"
    path = tmp_path / "res" / "value.pkl"
    write_value(path, {"fine": True})
    path.write_bytes(corruptions(path.read_bytes(), marker)[kind])
    with pytest.raises(CorruptResultError) as info:
        read_value(path)
    assert str(path) in str(info.value)
    with pytest.raises(CorruptResultError):
        LocalResult(tmp_path / "res").load(str(path))
    with pytest.raises(CorruptResultError):
        LocalResult(tmp_path / "res").get("value.pkl")
    assert not marker.exists()


def resign(body: bytes, key: bytes | None) -> bytes:
    if key is None:
        return MAGIC_PLAIN + hashlib.sha256(body).digest() + body
    return MAGIC_HMAC + hmac.new(key, body, hashlib.sha256).digest() + body


def test_signed_file_round_trips_with_its_key(tmp_path, monkeypatch):
    path = tmp_path / "v.pkl"
    monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "s3cret")
    write_value(path, [1, 2])
    assert path.read_bytes()[:4] == MAGIC_HMAC
    assert read_value(path) == [1, 2]
    store = LocalResult(tmp_path, key="other")
    store.put("k", "k.pkl")
    assert store.get("k.pkl") == "k"


@pytest.mark.parametrize("case", [
    "hmac-wrong-key", "plain-resigned-while-key-set", "hmac-without-key", "hmac-other-key",
])
def test_tampered_file_is_refused_and_never_unpickled(tmp_path, monkeypatch, case):
    marker = tmp_path / "marker"
    path = tmp_path / "v.pkl"
    body = evil_body(marker)
    if case == "hmac-wrong-key":          # attacker re-signs with a key they guess
        monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "real-key")
        path.write_bytes(resign(body, b"guessed-key"))
    elif case == "plain-resigned-while-key-set":   # attacker writes a valid unsigned file
        monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "real-key")
        path.write_bytes(resign(body, None))
    elif case == "hmac-without-key":      # signed file, reader has no key
        path.write_bytes(resign(body, b"real-key"))
    else:                                 # signed with one key, read with another
        monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "key-2")
        path.write_bytes(resign(body, b"key-1"))
    with pytest.raises(CorruptResultError) as info:
        read_value(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_valid_file_modified_and_resigned_wrongly_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "k1")
    path = tmp_path / "v.pkl"
    write_value(path, "honest")
    good = path.read_bytes()
    marker = tmp_path / "marker"
    tampered = good[:4] + hmac.new(b"k2", evil_body(marker), hashlib.sha256).digest() + \
        evil_body(marker)
    path.write_bytes(tampered)
    with pytest.raises(CorruptResultError, match="integrity check"):
        read_value(path)
    assert not marker.exists()


def test_explicit_key_overrides_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "env-key")
    store = LocalResult(tmp_path, key="store-key")
    store.put(1, "a.pkl")
    with pytest.raises(CorruptResultError):
        read_value(tmp_path / "a.pkl")                   # env key: wrong one
    assert read_value(tmp_path / "a.pkl", key=b"store-key") == 1


def test_corrupted_target_is_refused_and_the_task_recomputes(executor, rec, tmp_path, caplog):
    store = tmp_path / "store"
    marker = tmp_path / "marker"

    @task(name="produce", target="p.pkl")
    def produce():
        rec.add("ran")
        return "fresh"

    with Flow("corrupt-target", result=LocalResult(store)) as flow:
        out = produce()
    flow.run(executor=executor)
    target = store / "p.pkl"
    target.write_bytes(MAGIC_PLAIN + b"\0" * 32 + evil_body(marker))
    with caplog.at_level(logging.WARNING):
        state = flow.run(executor=executor)
    assert type(state.result[out]) is Success and state.result[out].result == "fresh"
    assert rec.items == ["ran", "ran"]
    assert not marker.exists()
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "'produce'" in warning and str(target) in warning
    assert read_value(target) == "fresh"                 # rewritten whole


def test_tampered_target_with_key_set_is_refused(executor, rec, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_RESULT_KEY", "team-key")
    marker = tmp_path / "marker"

    @task(target="t.pkl")
    def produce():
        rec.add("ran")
        return "fresh"

    with Flow("tampered-target", result=LocalResult(tmp_path)) as flow:
        out = produce()
    flow.run(executor=executor)
    (tmp_path / "t.pkl").write_bytes(resign(evil_body(marker), None))   # unsigned, valid digest
    state = flow.run(executor=executor)
    assert state.result[out].result == "fresh" and rec.items == ["ran", "ran"]
    assert not marker.exists()


# -- permissions ---------------------------------------------------------------------

def test_result_files_are_owner_only(executor, home):
    @task(checkpoint=True)
    def value(x):
        return x

    with Flow("perm") as flow:
        value.map([1, 2])
        value(3)
    flow.run(executor=executor)
    files = stored_files(home / "results")
    assert len(files) >= 3
    assert [str(p) for p in files if p.stat().st_mode & 0o077] == []


def test_result_directories_are_owner_only(executor, home):
    @task(checkpoint=True)
    def value():
        return 1

    with Flow("perm") as flow:
        value()
    flow.run(executor=executor)
    dirs = [home, *(p for p in home.rglob("*") if p.is_dir())]
    assert [(str(p), oct(p.stat().st_mode & 0o777)) for p in dirs
            if p.stat().st_mode & 0o077] == []


def test_encode_layout():
    """magic (4) + digest (32) + serializer tag (4) + payload."""
    data = encode({"a": 1}, JSONSerializer(), key=None)
    assert data[:4] == MAGIC_PLAIN
    assert data[4:36] == hashlib.sha256(data[36:]).digest()
    assert data[36:40] == b"json" and json.loads(data[40:]) == {"a": 1}


def test_prefect1_result_api_returns_copies_with_value_and_location(tmp_path):
    """Prefect 1 programs call a Result directly: write(value, **fields) fills the location
    template and returns a copy carrying .value and .location; read(location) a copy with
    the value; format(**fields) fills the template; PrefectResult keeps the JSON as location."""
    store = LocalResult(dir=tmp_path, location="{task}-{n}.bin")
    written = store.write([1, 2], task="load", n=3)
    assert written is not store and store.value is None and store.location == "{task}-{n}.bin"
    assert written.value == [1, 2] and written.location == str(tmp_path / "load-3.bin")
    assert store.exists("load-3.bin") and store.read("load-3.bin").value == [1, 2]
    assert store.format(task="x", n=1).location == "x-1.bin"
    unnamed = LocalResult(dir=tmp_path).write("v")        # no location: a new file name
    assert LocalResult(dir=tmp_path).read(unnamed.location).value == "v"
    assert PrefectResult().write({"a": 1}).location == '{"a": 1}'
    assert PrefectResult().read("[1, 2]").value == [1, 2]
    assert store.from_value(7).value == 7


def test_a_prefect1_serializer_subclass_writes_and_reads_a_target(executor, tmp_path):
    """A Serializer subclass with only Prefect 1's serialize/deserialize checkpoints, and the
    next run finds the target through it (Cached, body not run)."""
    from prefect_dask.results import Serializer

    class Upper(Serializer):
        def serialize(self, value):
            return value.upper().encode()

        def deserialize(self, data):
            return data.decode().lower()

    calls = []

    @task(result=LocalResult(dir=tmp_path, serializer=Upper()), target="u.txt", checkpoint=True)
    def greet():
        calls.append(1)
        return "hello"

    with Flow("custom-serializer") as flow:
        g = greet()
    first, second = flow.run(executor=executor), flow.run(executor=executor)
    assert type(first.result[g]) is Success and (tmp_path / "u.txt").read_bytes().endswith(b"HELLO")
    assert type(second.result[g]) is Cached and second.result[g].result == "hello"
    assert calls == [1]
    with pytest.raises(NotImplementedError, match="Serializer defines neither dumps"):
        Serializer().dumps(1)


def test_compressed_serializer_checkpoints_and_reads_a_target(executor, tmp_path):
    """Prefect 1's CompressedSerializer(serializer, format=...) wraps another serializer."""
    import gzip

    from prefect_dask.results import CompressedSerializer

    packed = CompressedSerializer(JSONSerializer(), format="gzip")

    @task(result=LocalResult(dir=tmp_path, serializer=packed), target="z.gz", checkpoint=True)
    def rows():
        return {"rows": list(range(50))}

    with Flow("compressed") as flow:
        r = rows()
    first, second = flow.run(executor=executor), flow.run(executor=executor)
    assert type(second.result[r]) is Cached and second.result[r].result == first.result[r].result
    custom = CompressedSerializer(PickleSerializer(), compress=gzip.compress,
                                  decompress=gzip.decompress)
    assert custom.loads(custom.dumps({1})) == {1}
    with pytest.raises(ValueError, match="needs either format='gzip'.*or both compress"):
        CompressedSerializer(JSONSerializer())
    with pytest.raises(ValueError, match="format='nope' is not a module with compress"):
        CompressedSerializer(JSONSerializer(), format="nope")
