"""``List``, ``Tuple``, ``Set``, ``Dict``: collections of task results as tasks
(Prefect 1's ``prefect.tasks.core.collections``).

A list, tuple, set or dict literal that holds tasks, given to a task, becomes one
of these; they can also be used directly: ``List()(a, b)``, ``Dict()(keys=[...],
values=[...])``.
"""

from ...task import Dict, List, Set, Tuple, VarArgsTask

__all__ = ["VarArgsTask", "List", "Tuple", "Set", "Dict"]
