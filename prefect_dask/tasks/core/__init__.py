"""The small tasks a flow builds for you, at Prefect 1's ``prefect.tasks.core`` paths.

``Task`` itself builds several of them (``a[0]``, ``a + b``, ``[a, b]`` given to a
task), so they are defined beside it in ``prefect_dask.task``; these modules are
the Prefect 1 names for them, plus ``GetAttr``, the operator classes and
``resource_manager``.
"""

from . import collections, constants, function, operators, resource_manager

__all__ = ["collections", "constants", "function", "operators", "resource_manager"]
