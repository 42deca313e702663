"""prefect_dask: Prefect 1 Core's programming model, rebuilt on Dask.

Everything a user needs is importable from here; the executors live in
``prefect_dask.executors``.
"""

from . import cache_validators, signals, states, triggers
from .app.bench import benchmark
from .configuration import config
from .context import context, raise_on_exception
from .flow import Edge, Flow
from .mapping import apply_map
from .results import LocalResult, PrefectResult, Result
from .schedules import CronSchedule, IntervalSchedule, Schedule
from .task import (DateTimeParameter, Parameter, Task, as_task, exponential_backoff, flatten,
                   mapped, tags, task, unmapped)
from .tasks.control_flow import FilterTask, case, filter_results, ifelse, merge, switch
from .tasks.core.resource_manager import resource_manager
from .utilities.logging import get_logger
from .utilities.notifications import slack_notifier, webhook_notifier
from .utilities.tasks import defaults_from_attrs

__version__ = "0.1.0"

__all__ = [
    "Flow", "Edge", "Task", "task", "Parameter", "DateTimeParameter", "unmapped", "mapped",
    "flatten", "apply_map", "tags", "defaults_from_attrs", "as_task", "raise_on_exception",
    "case", "merge", "switch", "ifelse", "filter_results", "FilterTask", "signals", "states",
    "triggers", "cache_validators", "context", "get_logger", "exponential_backoff",
    "webhook_notifier", "slack_notifier", "Result", "LocalResult", "PrefectResult",
    "resource_manager", "Schedule", "IntervalSchedule", "CronSchedule", "benchmark", "config",
    "__version__",
]

from . import compat  # noqa: E402  (Prefect 1's module paths: needs the names above)

compat.install()
