"""``Constant``: a fixed value as a task (Prefect 1's ``prefect.tasks.core.constants``)."""

from ...task import Constant

__all__ = ["Constant"]
