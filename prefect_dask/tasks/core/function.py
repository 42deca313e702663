"""``FunctionTask``: a task whose ``run`` is a function (Prefect 1's
``prefect.tasks.core.function``); ``@task`` makes one."""

from ...task import FunctionTask

__all__ = ["FunctionTask"]
