"""The task library that needs no cloud account, at Prefect 1's ``prefect.tasks`` paths.

- ``tasks.core``: ``Constant``, ``FunctionTask``, ``List``/``Tuple``/``Set``/``Dict``,
  ``GetItem``/``GetAttr`` and the operator tasks;
- ``tasks.shell``: ``ShellTask``;
- ``tasks.templates``: ``StringFormatter``, ``JinjaTemplate`` (needs jinja2);
- ``tasks.secrets``: ``PrefectSecret``, ``EnvVarSecret``, ``SecretBase``;
- ``tasks.database``: ``SQLiteQuery``, ``SQLiteScript``;
- ``tasks.files``: ``Copy``, ``Move``, ``Remove``, ``Glob``, ``Zip``, ``Unzip``;
- ``tasks.notifications``: ``SlackTask``, ``EmailTask``.

Only the standard library is needed, except by ``JinjaTemplate``.
"""

from . import core, database, files, notifications, secrets, shell, templates
from ..task import Task

__all__ = ["Task", "core", "database", "files", "notifications", "secrets", "shell",
           "templates"]
