"""Debugging helpers (Prefect 1's ``prefect.utilities.debug``).

* ``raise_on_exception()``: a ``with`` block in which ``flow.run()`` raises the first
  error a task raises instead of recording it in a Failed state;
* ``is_serializable(obj)``: whether ``obj`` survives the trip to another process, as a
  task and its inputs must on the processes and Dask executors.

>>> is_serializable(len)
True
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import cloudpickle

from ..context import raise_on_exception

__all__ = ["is_serializable", "raise_on_exception"]

# what the fresh interpreter runs: load the pickle from stdin, as a worker would
_LOAD = "import sys, cloudpickle; cloudpickle.loads(sys.stdin.buffer.read())"


def is_serializable(obj: Any, raise_on_error: bool = False) -> bool:
    """True if ``obj`` pickles (with cloudpickle) here and unpickles in a fresh Python.

    With ``raise_on_error`` the reason is raised instead of returning False: the pickling
    error, or ``subprocess.CalledProcessError`` whose ``output`` holds the fresh
    interpreter's traceback (e.g. a class it cannot import).
    """
    try:
        data = cloudpickle.dumps(obj)
        subprocess.run([sys.executable, "-c", _LOAD], input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, check=True)
    except Exception:
        if raise_on_error:
            raise
        return False
    return True
