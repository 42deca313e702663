"""Built-in state handlers that send notifications: a JSON webhook and Slack.

Use them as ``state_handlers=[webhook_notifier(url)]`` on a task or a flow.  A
notification that cannot be delivered (server down, an error status) is logged
as a warning and never changes the task's or flow's state.

``slack_notifier`` also works as Prefect 1 uses it: directly as a handler,
``state_handlers=[slack_notifier]``, or configured,
``slack_notifier(only_states=[Failed], webhook_secret="MY_HOOK")`` (or with
``functools.partial``); the webhook URL is then the local secret
``SLACK_WEBHOOK_URL`` (or ``webhook_secret``), see ``prefect_dask.secrets``.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from ..context import context
from ..errors import TaskDefinitionError
from ..secrets import Secret
from ..states import State

__all__ = ["webhook_notifier", "slack_notifier", "post_json", "callback_factory"]

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


def post_json(url: str, payload: Any, timeout: float) -> None:
    """POST ``payload`` as JSON to ``url``; raises ``urllib.error.URLError`` (``HTTPError``
    for an error status) when it is not delivered."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def _post(url: str, payload: dict, timeout: float, where: str | None = None) -> None:
    try:
        post_json(url, payload, timeout)
    except Exception as exc:  # a failed notification must never fail the run
        logger.warning("Notification to %s failed: %r (state %s of %s)", where or url,
                       exc if where is None else type(exc).__name__,
                       payload.get("state") or payload.get("text"),
                       payload.get("task") or payload.get("flow"))


def _wanted(new: State, only: tuple | None, ignore: tuple | None) -> bool:
    return (only is None or isinstance(new, only)) and not (ignore and isinstance(new, ignore))


def _notifier(url: str, only_states: Iterable[type] | None, timeout: float,
              shape: Callable[[dict], dict]) -> Handler:
    only = tuple(only_states) if only_states else None

    def handler(obj: Any, old: State, new: State) -> State:
        if _wanted(new, only, None):
            _post(url, shape(_describe(obj, new)), timeout)
        return new

    return handler


def webhook_notifier(url: str, only_states: Iterable[type] | None = None,
                     timeout: float = 5.0) -> Handler:
    """POST ``{"flow", "task", "state", "message", "run_id"}`` as JSON on each transition
    (or only to the state classes in ``only_states``, e.g. ``[states.Failed]``)."""
    _check_url(url, "webhook_notifier")
    return _notifier(url, only_states, timeout, lambda info: info)


def _slack_shape(info: dict) -> dict:
    who = f"task {info['task']!r} of flow {info['flow']!r}" if info["task"] \
        else f"flow {info['flow']!r}"
    return {"text": f"{who} is now {info['state']}",
            "attachments": [{"fields": [{"title": k, "value": str(v), "short": True}
                                        for k, v in info.items() if v is not None]}]}


def _slack_from_secret(obj: Any, old: State, new: State, only_states: Iterable[type] | None,
                       ignore_states: Iterable[type] | None, webhook_secret: str | None,
                       timeout: float) -> State:
    """Prefect 1's form: the webhook URL is a local secret, read when a state is posted."""
    if not _wanted(new, tuple(only_states) if only_states else None,
                   tuple(ignore_states) if ignore_states else None):
        return new
    secret = webhook_secret or "SLACK_WEBHOOK_URL"
    try:
        url = Secret(secret).get()
    except ValueError as exc:
        raise ValueError(f"slack_notifier on {getattr(obj, 'name', obj)!r}: no webhook URL: "
                         f"{exc} Or give the URL itself: slack_notifier('https://...').") from None
    _check_url(url, f"slack_notifier (secret {secret!r})")
    _post(url, _slack_shape(_describe(obj, new)), timeout, where=f"the secret {secret!r}")
    return new


def slack_notifier(*args: Any, only_states: Iterable[type] | None = None,
                   ignore_states: Iterable[type] | None = None, webhook_secret: str | None = None,
                   webhook_url: str | None = None, timeout: float = 5.0,
                   **prefect1_options: Any) -> Any:
    """Post to a Slack incoming webhook: a text line plus the details as fields.

    - ``slack_notifier(webhook_url, only_states=None, timeout=5.0)`` makes a handler;
    - ``state_handlers=[slack_notifier]`` is a handler itself (Prefect 1), and
      ``slack_notifier(only_states=..., ignore_states=..., webhook_secret=...)`` makes one;
      both read the URL from the local secret ``webhook_secret`` (``SLACK_WEBHOOK_URL``).
    Prefect 1's ``backend_info`` and ``proxies`` are accepted and have no effect here.
    """
    unknown = set(prefect1_options) - {"backend_info", "proxies"}
    if unknown:
        raise TypeError(f"slack_notifier got unknown options {sorted(unknown)}; it takes "
                        "only_states, ignore_states, webhook_secret, webhook_url and timeout.")
    if len(args) == 3 and not (args[0] is None or isinstance(args[0], str)):
        obj, old, new = args           # used directly as a state handler
        return _slack_from_secret(obj, old, new, only_states, ignore_states, webhook_secret,
                                  timeout)
    if len(args) > 3:
        raise TypeError(f"slack_notifier takes at most 3 positional arguments (webhook_url, "
                        f"only_states, timeout), got {len(args)}.")
    if args:
        webhook_url, *rest = args
        if rest:
            only_states, *rest = rest
        if rest:
            (timeout,) = rest
    elif webhook_url is None:          # Prefect 1's configured form: a secret's URL
        def handler(obj: Any, old: State, new: State) -> State:
            return _slack_from_secret(obj, old, new, only_states, ignore_states,
                                      webhook_secret, timeout)
        return handler
    _check_url(webhook_url, "slack_notifier")  # type: ignore[arg-type]
    only = tuple(only_states) if only_states else None
    ignore = tuple(ignore_states) if ignore_states else None

    def url_handler(obj: Any, old: State, new: State) -> State:
        if _wanted(new, only, ignore):
            _post(webhook_url, _slack_shape(_describe(obj, new)), timeout)  # type: ignore[arg-type]
        return new

    return url_handler


def callback_factory(fn: Callable[[Any, State], Any],
                     check: Callable[[State], bool]) -> Handler:
    """A state handler for tasks and flows that calls ``fn(task_or_flow, new_state)``
    whenever ``check(new_state)`` is True, and keeps the state (Prefect 1's helper).

    >>> seen = []
    >>> handler = callback_factory(lambda obj, s: seen.append(obj), lambda s: s.is_failed())
    >>> from prefect_dask.states import Failed, Success
    >>> handler("t", Success(), Failed("no")).is_failed(), seen
    (True, ['t'])
    >>> handler("t", Failed("no"), Success()).is_successful(), seen
    (True, ['t'])
    """
    if not callable(fn) or not callable(check):
        raise TypeError("callback_factory(fn, check): both must be callables, "
                        "fn(task_or_flow, state) and check(state) -> bool.")

    def state_handler(obj: Any, old: State, new: State) -> State:
        if check(new) is True:
            fn(obj, new)
        return new

    return state_handler
