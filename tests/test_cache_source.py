"""``Task(cache_source=True)``: cached results are reused only while the task's source is
unchanged (a second process with edited code recomputes)."""

from __future__ import annotations

import os
import subprocess
import sys

FLOW = '''
import datetime, sys
from prefect_dask import Flow, task

@task(cache_for=datetime.timedelta(hours=1), cache_source=SOURCE)
def f():
    with open(sys.argv[1], "a") as fh:
        fh.write("ran\\n")
    return VALUE

with Flow("src") as flow:
    r = f()

state = flow.run(log_level="WARNING")
print(type(state.result[r]).__name__, state.result[r].result)
'''


def run(tmp_path, value, source, side):
    path = tmp_path / "flow.py"
    path.write_text(FLOW.replace("VALUE", str(value)).replace("SOURCE", str(source)))
    proc = subprocess.run([sys.executable, str(path), str(side)], capture_output=True,
                          text=True, env={**os.environ}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_cache_source_recomputes_after_an_edit(tmp_path):
    side = tmp_path / "side.txt"
    assert run(tmp_path, 1, True, side) == "Cached 1"
    assert run(tmp_path, 1, True, side) == "Cached 1"          # same source: a cache hit
    assert run(tmp_path, 2, True, side) == "Cached 2"          # edited: runs again
    assert side.read_text().splitlines() == ["ran", "ran"]


def test_without_cache_source_an_edit_still_hits_the_old_entry(tmp_path):
    side = tmp_path / "side.txt"
    assert run(tmp_path, 1, False, side) == "Cached 1"
    assert run(tmp_path, 2, False, side) == "Cached 1"         # Prefect 1's behaviour
    assert side.read_text().splitlines() == ["ran"]
