"""Local secrets: ``Secret(name).get()`` (Prefect 1's ``prefect.client.Secret``), no server.

A secret's value is looked up, while a task runs, in ``context.secrets``:
``with prefect_dask.context(secrets={"NAME": value}): flow.run()``,
``flow.run(context={"secrets": {...}})``, or Prefect 1's environment variables
``PREFECT__CONTEXT__SECRETS__NAME=value``, which ``prefect_dask.configuration`` reads
into the context when prefect_dask is imported (as Prefect 1 read its config).  The
run's context travels with it, so a task on a process pool or a Dask cluster sees the
driver's secrets.

As in Prefect 1, a string value that is a JSON document is decoded (``'{"a": 1}'`` is
a dict).  The tasks that return secrets (``tasks.secrets``) are never checkpointed and
never log their value.

>>> with context(secrets={"TOKEN": "abc"}):
...     Secret("TOKEN").get()
'abc'
"""

from __future__ import annotations

import json
from typing import Any

from .context import context, current_flow

__all__ = ["Secret", "ENV_PREFIX"]

ENV_PREFIX = "PREFECT__CONTEXT__SECRETS__"

_MISSING = object()


class Secret:
    """A named secret; ``get()`` returns its value (see the module docstring)."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Secret({name!r}): a secret's name is a non-empty string, "
                             "e.g. Secret('SLACK_WEBHOOK_URL').")
        self.name = name

    def __repr__(self) -> str:
        return f"<Secret: {self.name}>"

    def _lookup(self) -> Any:
        return (context.get("secrets") or {}).get(self.name, _MISSING)

    def exists(self) -> bool:
        """Whether the secret has a value here."""
        return self._lookup() is not _MISSING

    def get(self) -> Any:
        """The secret's value; a ``ValueError`` saying where to set it if it has none."""
        if current_flow() is not None:
            raise ValueError(
                f"Secret {self.name!r}: secrets should only be retrieved during a flow run, "
                "not while building a flow; use a PrefectSecret task in the flow instead."
            )
        value = self._lookup()
        if value is _MISSING:
            raise ValueError(
                f'Local Secret "{self.name}" was not found. Set it for the run with '
                f'prefect_dask.context(secrets={{"{self.name}": ...}}) or '
                f'flow.run(context={{"secrets": {{"{self.name}": ...}}}}), or set the '
                f"environment variable {ENV_PREFIX}{self.name} before the program starts."
            )
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
