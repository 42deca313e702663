"""Tasks that send notifications (Prefect 1's ``prefect.tasks.notifications``):
``SlackTask`` (an incoming webhook) and ``EmailTask`` (SMTP)."""

from .email_task import EmailTask
from .slack_task import SlackTask

__all__ = ["EmailTask", "SlackTask"]
