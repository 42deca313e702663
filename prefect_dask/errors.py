"""Error types raised to users.

Every error says what went wrong, in which flow and task, and what to do.  They
subclass the built-in error a Prefect 1 user would have caught (``ValueError``,
``TypeError``) so existing ``except`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "PrefectDaskError",
    "FlowValidationError",
    "CycleError",
    "ParameterError",
    "TaskDefinitionError",
    "TaskBindError",
    "NoFlowContextError",
    "UnpackError",
    "TaskOptionError",
    "RunArgumentError",
    "MapError",
    "TargetError",
    "RunRecordError",
    "ExecutorError",
    "NeedsServerError",
    "ApplyMapError",
    "TaskOptionTypeError",
    "FlowRunContextError",
    "RunOptionError",
]


class PrefectDaskError(Exception):
    """Base class of every error prefect_dask raises on purpose."""


class FlowValidationError(PrefectDaskError, ValueError):
    """The flow cannot run as built (a cycle, a bad edge, a duplicate name...)."""


class CycleError(FlowValidationError):
    """The flow's edges form a cycle."""


class ParameterError(PrefectDaskError, ValueError):
    """A required Parameter was not given, or an unknown one was."""


class TaskDefinitionError(PrefectDaskError, ValueError):
    """A task was constructed with options that contradict each other."""


class TaskBindError(PrefectDaskError, TypeError):
    """A task was called with arguments its ``run`` does not accept, or outside a flow."""


class NoFlowContextError(PrefectDaskError, ValueError):
    """A task (or case, switch, apply_map...) was used outside ``with Flow(...)``."""


class UnpackError(PrefectDaskError, ValueError):
    """A task was unpacked into a different number of values than its ``nout``."""


class TaskOptionError(PrefectDaskError, AttributeError):
    """``task.copy(...)`` was given an option tasks do not have."""


class RunArgumentError(PrefectDaskError, TypeError):
    """``flow.run(...)`` got a keyword argument that is neither an option nor a parameter."""


class MapError(PrefectDaskError, TypeError):
    """A ``task.map`` input that cannot be mapped over."""


class TargetError(PrefectDaskError, ValueError):
    """A ``target`` template that cannot be filled."""


class RunRecordError(PrefectDaskError, ValueError):
    """A run record that does not exist, does not fit the flow, or cannot be read."""


class ExecutorError(PrefectDaskError, RuntimeError):
    """An executor could not be found, started or used."""


class NeedsServerError(PrefectDaskError, RuntimeError):
    """A Prefect 1 feature that needs Prefect Server or Cloud (registering, agents,
    storage, flow runs started through the API) was used."""

    def __init__(self, what: str, instead: str) -> None:
        super().__init__(
            f"{what} needs a Prefect Server or Prefect Cloud backend, which prefect_dask "
            f"does not have: it runs flows in this process, with no server. Instead: {instead}")


class ApplyMapError(PrefectDaskError, ValueError):
    """``apply_map`` was misused (``.map`` inside its function)."""


class TaskOptionTypeError(PrefectDaskError, TypeError):
    """A task option of the wrong type (``tags`` as a string, a float ``timeout``)."""


class FlowRunContextError(PrefectDaskError, RuntimeError):
    """``flow.run()`` was called inside the flow's own ``with Flow(...)`` block."""


class RunOptionError(PrefectDaskError, ValueError):
    """``flow.run(...)`` got a Prefect 1 option whose job is done another way here."""
