"""Every script in examples/ runs to completion (each exits non-zero if its flow went wrong)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_the_issue_examples_exist():
    assert {"quickstart.py", "retries.py", "triggers.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs(script):
    proc = subprocess.run([sys.executable, str(script)], cwd=EXAMPLES.parent,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (f"{script.name} exited {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    assert "flow state:" in proc.stdout
