"""``EmailTask`` (Prefect 1's ``prefect.tasks.notifications.email_task``), on ``smtplib``."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from ...secrets import Secret
from ...task import Task
from ...utilities.tasks import defaults_from_attrs

__all__ = ["EmailTask"]

SMTP_TYPES = ("SSL", "STARTTLS", "INSECURE")


class EmailTask(Task):
    """Send an email.  ``msg`` is the HTML body, ``msg_plain`` a plain-text one;
    ``email_to`` (and ``email_to_cc``/``email_to_bcc``) are comma-separated addresses;
    ``attachments`` are file paths.  ``smtp_type`` is ``SSL`` (default), ``STARTTLS`` or
    ``INSECURE``; except for ``INSECURE`` the task logs in with the local secrets
    ``EMAIL_USERNAME`` and ``EMAIL_PASSWORD``, as in Prefect 1.  Every argument of
    ``__init__`` may also be given when the task is called."""

    def __init__(self, subject: str | None = None, msg: str | None = None,
                 email_to: str | None = None, email_from: str = "notifications@prefect.io",
                 smtp_server: str = "smtp.gmail.com", smtp_port: int = 465,
                 smtp_type: str = "SSL", msg_plain: str | None = None,
                 email_to_cc: str | None = None, email_to_bcc: str | None = None,
                 attachments: list[str] | None = None, **kwargs: Any) -> None:
        self.subject, self.msg, self.msg_plain = subject, msg, msg_plain
        self.email_to, self.email_from = email_to, email_from
        self.email_to_cc, self.email_to_bcc = email_to_cc, email_to_bcc
        self.smtp_server, self.smtp_port, self.smtp_type = smtp_server, smtp_port, smtp_type
        self.attachments = attachments or []
        super().__init__(**kwargs)

    def _message(self, subject: str | None, msg: str | None, msg_plain: str | None,
                 email_to: str | None, email_from: str | None, email_to_cc: str | None,
                 email_to_bcc: str | None, attachments: list[str]) -> MIMEMultipart:
        message = MIMEMultipart()
        for header, value in (("Subject", subject), ("From", email_from), ("To", email_to),
                              ("Cc", email_to_cc), ("Bcc", email_to_bcc)):
            if value:
                message[header] = value
        if msg_plain:
            message.attach(MIMEText(msg_plain, "plain"))
        if msg:
            message.attach(MIMEText(msg, "html"))
        for path in attachments:
            try:
                with open(path, "rb") as fh:
                    part = MIMEApplication(fh.read())
            except OSError as exc:
                raise FileNotFoundError(f"Task {self.name!r}: cannot read attachment "
                                        f"{path!r}: {exc.strerror}.") from None
            part.add_header("Content-Disposition", "attachment",
                            filename=os.path.basename(path))
            message.attach(part)
        return message

    def _connect(self, server: str, port: int, smtp_type: str) -> smtplib.SMTP:
        if smtp_type == "INSECURE":
            return smtplib.SMTP(server, port)
        context = ssl.create_default_context()
        if smtp_type == "SSL":
            return smtplib.SMTP_SSL(server, port, context=context)
        smtp = smtplib.SMTP(server, port)
        try:
            smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    @defaults_from_attrs("subject", "msg", "email_to", "email_from", "smtp_server",
                         "smtp_port", "smtp_type", "msg_plain", "email_to_cc", "email_to_bcc",
                         "attachments")
    def run(self, subject: str | None = None, msg: str | None = None,  # type: ignore[override]
            email_to: str | None = None, email_from: str | None = None,
            smtp_server: str | None = None, smtp_port: int | None = None,
            smtp_type: str | None = None, msg_plain: str | None = None,
            email_to_cc: str | None = None, email_to_bcc: str | None = None,
            attachments: list[str] | None = None) -> None:
        if smtp_type not in SMTP_TYPES:
            raise ValueError(f"Task {self.name!r}: smtp_type={smtp_type!r} is not supported; "
                             f"use one of {', '.join(SMTP_TYPES)}.")
        if not email_to:
            raise ValueError(f"Task {self.name!r}: no recipient; pass email_to='a@b.c' (several "
                             "separated by commas).")
        if smtp_type != "INSECURE":   # read before connecting: a missing secret says so first
            username = Secret("EMAIL_USERNAME").get()
            password = Secret("EMAIL_PASSWORD").get()
        message = self._message(subject, msg, msg_plain, email_to, email_from, email_to_cc,
                                email_to_bcc, attachments or [])
        smtp = self._connect(smtp_server, smtp_port, smtp_type)  # type: ignore[arg-type]
        try:
            if smtp_type != "INSECURE":
                smtp.login(username, password)
            smtp.send_message(message)
        finally:
            smtp.quit()
