"""Run the shared Prefect 1.4.1 conformance harness against prefect_dask.

The harness lives in ``../shared/conformance`` next to the repository (read-only;
it writes only temp files).  Skipped when that folder is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"

# Every case, on every executor the harness knows.
EXCLUDED_CASES: frozenset[str] = frozenset()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CONFORMANCE / "harness.py").exists(),
                       reason=f"no conformance harness at {CONFORMANCE}"),
]


def selected_cases() -> list[str]:
    manifest = json.loads((CONFORMANCE / "manifest.json").read_text())
    return sorted(name for name in manifest["cases"] if name not in EXCLUDED_CASES)


@pytest.mark.parametrize("executors, isolation", [
    ("local,threads", ["--inprocess"]),   # in one process: fast (cases use unique cache names)
    ("dask", []),                          # a fresh process and LocalCluster per case
])
def test_conformance_cases_pass(tmp_path, executors, isolation):
    cases = selected_cases()
    assert cases, "the manifest lists no cases"
    env = {**os.environ, "PREFECT_DASK_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "harness.py", "--impl", "prefect_dask", "--expected", "expected.json",
         "--cases", ",".join(cases), "--executors", executors, *isolation],
        cwd=CONFORMANCE, capture_output=True, text=True, timeout=1200, env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"conformance harness failed:\n{output}"
    n = len(cases) * len(executors.split(","))
    assert f"{n} passed, 0 failed" in output, output
