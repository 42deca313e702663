"""Our own conformance cases (tests/conformance_cases, recorded from Prefect 1.4.1), run
through the shared harness exactly like ../shared/conformance's cases.

Skipped when ../shared/conformance (the harness) is not beside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CASES = HERE / "conformance_cases"
SHARED = HERE.parents[1] / "shared" / "conformance"

# Where prefect_dask differs from Prefect 1.4.1 on purpose (see README, "Differences"):
DIFFERENT_ON_PURPOSE = {
    "flow_cycle",           # a cycle raises CycleError before running (Prefect 1: Failed state)
    "map_dict",             # mapping over a dict fails that task clearly (Prefect 1: KeyError(0))
    "trigger_manual_only",  # a paused task leaves the flow Running (Prefect 1: stdin prompt)
}


# On the Dask executor every case starts a LocalCluster (seconds each): a sample that
# crosses processes in every way the others do, to keep the suite within its time.
ON_DASK = ["cache_mapped", "context_values", "flatten_cases", "handler_failures_mapped",
           "handlers_mapped", "loop_mapped", "map_failures", "mapped_signals",
           "resource_manager_cases", "retry_signal_counts", "timeouts", "triggers_mapped"]


def _cases() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.py")
                  if not p.stem.startswith("_") and p.stem not in DIFFERENT_ON_PURPOSE)


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "harness.py").exists(), reason="no ../shared/conformance")
@pytest.mark.parametrize("executors, cases, isolation", [
    ("local,threads", None, ["--inprocess"]),
    ("dask", ON_DASK, []),
], ids=["local-threads", "dask"])
def test_project_conformance_cases(tmp_path, executors, cases, isolation):
    work = tmp_path / "conformance"
    (work / "cases").mkdir(parents=True)
    for name in ("harness.py", "adapters.py", "probes.py"):
        shutil.copy(SHARED / name, work / name)
    for case in CASES.glob("*.py"):
        shutil.copy(case, work / "cases" / case.name)
    shutil.copy(CASES / "expected.json", work / "expected.json")
    env = {**os.environ, "PREFECT_DASK_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "harness.py", "--impl", "prefect_dask", "--expected", "expected.json",
         "--cases", ",".join(cases or _cases()), "--executors", executors, *isolation],
        cwd=work, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
