"""``SlackTask`` (Prefect 1's ``prefect.tasks.notifications.slack_task``)."""

from __future__ import annotations

import urllib.error
from typing import Any

from ...utilities.notifications import post_json
from ...secrets import Secret
from ...task import Task
from ...utilities.tasks import defaults_from_attrs

__all__ = ["SlackTask"]


class SlackTask(Task):
    """Post ``message`` (a string, or a dict sent as the JSON body) to a Slack incoming
    webhook: ``webhook_url`` if given, else the URL in the local secret ``webhook_secret``
    (``SLACK_WEBHOOK_URL``).  An error status or an unreachable server fails the task
    (a secret's URL is not shown in the message)."""

    def __init__(self, message: str | dict | None = None,
                 webhook_secret: str = "SLACK_WEBHOOK_URL", timeout: float = 10.0,
                 **kwargs: Any) -> None:
        self.message = message
        self.webhook_secret = webhook_secret
        self.timeout = timeout
        super().__init__(**kwargs)

    @defaults_from_attrs("message", "webhook_secret")
    def run(self, message: str | dict | None = None,  # type: ignore[override]
            webhook_secret: str | None = None, webhook_url: str | None = None) -> None:
        where = "its webhook_url" if webhook_url else f"the webhook in secret {webhook_secret!r}"
        url = webhook_url or Secret(webhook_secret).get()  # type: ignore[arg-type]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"Task {self.name!r}: {where} is not an http(s) URL; set it to "
                             "the incoming webhook's https://hooks.slack.com/... address.")
        body = message if isinstance(message, dict) else {"text": message}
        try:
            post_json(url, body, self.timeout)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"Task {self.name!r}: Slack refused the message: {where} "
                               f"answered {exc.code} {exc.reason}.") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionError(f"Task {self.name!r}: could not reach {where}: "
                                  f"{reason}.") from None
