"""The task library that needs no cloud account, at Prefect 1's ``prefect.tasks`` paths.

- ``tasks.core``: ``Constant``, ``FunctionTask``, ``List``/``Tuple``/``Set``/``Dict``,
  ``GetItem``/``GetAttr``, the operator tasks and ``resource_manager``;
- ``tasks.control_flow``: ``case``, ``merge``, ``switch``, ``ifelse``, ``filter_results``;
- ``tasks.shell``: ``ShellTask``;
- ``tasks.templates``: ``StringFormatter``, ``JinjaTemplate`` (needs jinja2);
- ``tasks.secrets``: ``PrefectSecret``, ``EnvVarSecret``, ``SecretBase``;
- ``tasks.database``: ``SQLiteQuery``, ``SQLiteScript``;
- ``tasks.files``: ``Copy``, ``Move``, ``Remove``, ``Glob``, ``Zip``, ``Unzip``;
- ``tasks.notifications``: ``SlackTask``, ``EmailTask``.

Only the standard library is needed, except by ``JinjaTemplate``.  The submodules are
imported on first use (``prefect_dask.tasks.shell`` after ``import prefect_dask.tasks``
works, as Prefect 1's eager imports allowed), so ``import prefect_dask`` stays fast.
"""

import importlib
from typing import Any

from ..task import Task

_SUBMODULES = ("control_flow", "core", "database", "files", "notifications", "secrets", "shell",
               "templates")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Task", "control_flow", "core", "database", "files", "notifications", "secrets", "shell",
           "templates"]
