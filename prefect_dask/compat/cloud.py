"""What Prefect 1 had for Prefect Server / Cloud: importable, and saying so when used.

Served at Prefect 1's paths (``prefect.Client``, ``prefect.tasks.prefect``,
``prefect.storage``, ``prefect.run_configs``, ``prefect.agent``, ``prefect.backend``,
``prefect.artifacts``) by the table in ``paths.py``.  Using any of it raises
``NeedsServerError`` saying what to do instead, except what Prefect 1 itself let a
local run do without a server:

* storage and run-config objects can be built and set on a flow (``flow.storage =
  GitHub(...)``); they only matter when registering, so nothing reads them;
* the artifact functions do nothing and return None, as in a Prefect 1 run with no
  backend.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ..errors import NeedsServerError

__all__ = [
    "NeedsServerError", "Client", "create_flow_run", "wait_for_flow_run", "get_task_run_result",
    "StartFlowRun", "RenameFlowRun", "CancelFlowRun",
    "Storage", "Local", "Docker", "GitHub", "GitLab", "Bitbucket", "CodeCommit", "S3", "GCS",
    "Azure", "Module", "Webhook", "Git",
    "RunConfig", "UniversalRun", "LocalRun", "DockerRun", "KubernetesRun", "ECSRun", "VertexRun",
    "Agent", "LocalAgent", "DockerAgent", "KubernetesAgent", "ECSAgent", "VertexAgent",
    "FlowRunView", "FlowView", "TaskRunView", "TenantView",
    "set_key_value", "get_key_value", "delete_key", "list_keys",
    "create_link_artifact", "create_markdown_artifact", "update_link_artifact",
    "update_markdown_artifact", "delete_artifact", "create_link", "create_markdown",
    "update_link", "update_markdown",
]

RUN_LOCALLY = ("run the flow where it is defined: flow.run(...), `prefect-dask run file.py`, or "
               "`python -m prefect_dask.compat file.py` for an unchanged Prefect 1 program")
CHILD_FLOW = ("run the other flow from your program or from a task with "
              "other_flow.run(parameters=...); its State's .result holds every task's State")
HISTORY = ("read recorded runs with `prefect-dask runs list` / `prefect-dask runs show RUN_ID` "
           "or `prefect-dask ui`")
SCHEDULE = ("flow.run() follows the flow's schedule in this process; `prefect-dask run` starts "
            "a run from a shell or a cron job")


def _refuse(what: str, instead: str) -> NoReturn:
    raise NeedsServerError(what, instead)


class _Refused:
    """A class whose instances cannot be made: Prefect 1 made them to talk to a server."""

    _instead = RUN_LOCALLY

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse(f"{type(self).__name__}(...)", self._instead)


class Client(_Refused):
    """Prefect 1's API client."""

    _instead = HISTORY


class StartFlowRun(_Refused):
    """Prefect 1's task that started a registered flow through the API."""

    _instead = CHILD_FLOW


class RenameFlowRun(_Refused):
    """Prefect 1's task that renamed a flow run through the API."""

    _instead = "pass flow.run(flow_run_name=...) when you start the run"


class CancelFlowRun(_Refused):
    """Prefect 1's task that cancelled a flow run through the API."""

    _instead = "raise signals.ENDRUN or signals.FAIL in a task to stop the work"


class _ServerTask:
    """One of Prefect 1's API tasks (``create_flow_run``...): using it says what to do."""

    def __init__(self, name: str, instead: str) -> None:
        self.name, self._instead = name, instead

    def _use(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"prefect.tasks.prefect.{self.name}", self._instead)

    __call__ = run = map = copy = _use

    def __repr__(self) -> str:
        return f"<Task: {self.name} (needs a Prefect server)>"


create_flow_run = _ServerTask("create_flow_run", CHILD_FLOW)
wait_for_flow_run = _ServerTask("wait_for_flow_run", CHILD_FLOW)
get_task_run_result = _ServerTask(
    "get_task_run_result", "run the other flow with state = other_flow.run(...) and read "
    "state.result[its_task].result")


class Storage:
    """Where Prefect 1 kept a flow for its agents.  Building one and setting it on a flow
    is allowed (nothing reads it); storing or loading flows is not."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.flows: dict[str, Any] = {}

    def _use(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"prefect.storage.{type(self).__name__}",
                "keep the flow in its Python file and run it from there; "
                "flow.save(path) / Flow.load(path) store a flow in a file")

    add_flow = build = get_flow = _use

    def __repr__(self) -> str:
        return f"<{type(self).__name__} storage (not used by prefect_dask)>"


class Local(Storage):
    """Prefect 1's ``Local`` storage."""


class Docker(Storage):
    """Prefect 1's ``Docker`` storage."""


class GitHub(Storage):
    """Prefect 1's ``GitHub`` storage."""


class GitLab(Storage):
    """Prefect 1's ``GitLab`` storage."""


class Bitbucket(Storage):
    """Prefect 1's ``Bitbucket`` storage."""


class CodeCommit(Storage):
    """Prefect 1's ``CodeCommit`` storage."""


class S3(Storage):
    """Prefect 1's ``S3`` storage."""


class GCS(Storage):
    """Prefect 1's ``GCS`` storage."""


class Azure(Storage):
    """Prefect 1's ``Azure`` storage."""


class Module(Storage):
    """Prefect 1's ``Module`` storage."""


class Webhook(Storage):
    """Prefect 1's ``Webhook`` storage."""


class Git(Storage):
    """Prefect 1's ``Git`` storage."""


class RunConfig:
    """How Prefect 1's agents started a flow run.  Building one and setting it on a flow
    is allowed; nothing reads it (flows run where ``flow.run`` is called)."""

    def __init__(self, *args: Any, env: dict | None = None, labels: Any = None,
                 **kwargs: Any) -> None:
        self.env = env or {}
        self.labels = set(labels or ())
        self.args, self.kwargs = args, kwargs

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (not used by prefect_dask)>"


class UniversalRun(RunConfig):
    """Prefect 1's ``UniversalRun``."""


class LocalRun(RunConfig):
    """Prefect 1's ``LocalRun``."""


class DockerRun(RunConfig):
    """Prefect 1's ``DockerRun``."""


class KubernetesRun(RunConfig):
    """Prefect 1's ``KubernetesRun``."""


class ECSRun(RunConfig):
    """Prefect 1's ``ECSRun``."""


class VertexRun(RunConfig):
    """Prefect 1's ``VertexRun``."""


class Agent(_Refused):
    """Prefect 1's agents polled a server for flow runs to start."""

    _instead = SCHEDULE


class LocalAgent(Agent):
    """Prefect 1's ``LocalAgent``."""


class DockerAgent(Agent):
    """Prefect 1's ``DockerAgent``."""


class KubernetesAgent(Agent):
    """Prefect 1's ``KubernetesAgent``."""


class ECSAgent(Agent):
    """Prefect 1's ``ECSAgent``."""


class VertexAgent(Agent):
    """Prefect 1's ``VertexAgent``."""


class _RefusedView(type):
    """``FlowRunView.from_flow_run_id(...)`` and the like: a class-level use."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _refuse(f"prefect.backend.{cls.__name__}.{name}", HISTORY)


class FlowRunView(_Refused, metaclass=_RefusedView):
    """Prefect 1's view of a flow run stored by the server."""

    _instead = HISTORY


class FlowView(_Refused, metaclass=_RefusedView):
    """Prefect 1's view of a registered flow."""

    _instead = HISTORY


class TaskRunView(_Refused, metaclass=_RefusedView):
    """Prefect 1's view of a task run stored by the server."""

    _instead = HISTORY


class TenantView(_Refused, metaclass=_RefusedView):
    """Prefect 1's view of a Cloud tenant."""

    _instead = HISTORY


def _kv(name: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"prefect.backend.{name}", "keep small values in a file, or in a "
                "Parameter of the flow")

    refused.__name__ = refused.__qualname__ = name
    refused.__doc__ = f"Prefect 1's key-value store ``{name}`` (needs a server)."
    return refused


set_key_value = _kv("set_key_value")
get_key_value = _kv("get_key_value")
delete_key = _kv("delete_key")
list_keys = _kv("list_keys")


def create_link_artifact(link: str) -> None:
    """Nothing to do without a backend (as in Prefect 1): returns None."""
    return None


def create_markdown_artifact(markdown: str) -> None:
    """Nothing to do without a backend (as in Prefect 1): returns None."""
    return None


def update_link_artifact(task_run_artifact_id: str, link: str) -> None:
    """Nothing to do without a backend (as in Prefect 1)."""


def update_markdown_artifact(task_run_artifact_id: str, markdown: str) -> None:
    """Nothing to do without a backend (as in Prefect 1)."""


def delete_artifact(task_run_artifact_id: str) -> None:
    """Nothing to do without a backend (as in Prefect 1)."""


create_link, create_markdown = create_link_artifact, create_markdown_artifact
update_link, update_markdown = update_link_artifact, update_markdown_artifact
