"""The task library that needs no cloud account, at Prefect 1's ``prefect.tasks`` paths.

- ``tasks.core``: ``Constant``, ``FunctionTask``, ``List``/``Tuple``/``Set``/``Dict``,
  ``GetItem``/``GetAttr`` and the operator tasks;
- ``tasks.shell``: ``ShellTask``.

Optional libraries (``jinja2``) are imported only by the module that needs them.
"""

from . import core, shell
from ..task import Task

__all__ = ["Task", "core", "shell"]
