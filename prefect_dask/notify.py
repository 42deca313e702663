"""Built-in state handlers that send notifications: a JSON webhook and Slack.

Use them as ``state_handlers=[webhook_notifier(url)]`` on a task or a flow.  A
notification that cannot be delivered (server down, an error status) is logged
as a warning and never changes the task's or flow's state.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from .context import context
from .errors import TaskDefinitionError
from .states import State

__all__ = ["webhook_notifier", "slack_notifier"]

logger = logging.getLogger("prefect_dask.notify")

Handler = Callable[[Any, State, State], State]


def _check_url(url: str, who: str) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TaskDefinitionError(f"{who}({url!r}): the URL must start with http:// or https://.")


def _describe(obj: Any, new: State) -> dict:
    is_flow = hasattr(obj, "reference_tasks")
    return {
        "flow": obj.name if is_flow else context.get("flow_name"),
        "task": None if is_flow else context.get("task_full_name", getattr(obj, "name", None)),
        "state": type(new).__name__,
        "message": None if new.message is None else str(new.message),
        "run_id": context.get("flow_run_id"),
    }


def _post(url: str, payload: dict, timeout: float) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except Exception as exc:  # a failed notification must never fail the run
        logger.warning("Notification to %s failed: %r (state %s of %s)", url, exc,
                       payload.get("state"), payload.get("task") or payload.get("flow"))


def _notifier(url: str, only_states: Iterable[type] | None, timeout: float,
              shape: Callable[[dict], dict]) -> Handler:
    only = tuple(only_states) if only_states else None

    def handler(obj: Any, old: State, new: State) -> State:
        if only is None or isinstance(new, only):
            _post(url, shape(_describe(obj, new)), timeout)
        return new

    return handler


def webhook_notifier(url: str, only_states: Iterable[type] | None = None,
                     timeout: float = 5.0) -> Handler:
    """POST ``{"flow", "task", "state", "message", "run_id"}`` as JSON on each transition
    (or only to the state classes in ``only_states``, e.g. ``[states.Failed]``)."""
    _check_url(url, "webhook_notifier")
    return _notifier(url, only_states, timeout, lambda info: info)


def slack_notifier(webhook_url: str, only_states: Iterable[type] | None = None,
                   timeout: float = 5.0) -> Handler:
    """Post to a Slack incoming webhook: a text line plus the details as fields."""
    _check_url(webhook_url, "slack_notifier")

    def shape(info: dict) -> dict:
        who = f"task {info['task']!r} of flow {info['flow']!r}" if info["task"] \
            else f"flow {info['flow']!r}"
        return {"text": f"{who} is now {info['state']}",
                "attachments": [{"fields": [{"title": k, "value": str(v), "short": True}
                                            for k, v in info.items() if v is not None]}]}

    return _notifier(webhook_url, only_states, timeout, shape)
