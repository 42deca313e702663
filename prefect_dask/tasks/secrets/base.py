"""``SecretBase`` and ``PrefectSecret`` (Prefect 1's ``prefect.tasks.secrets.base``).

A secret task's result stays in memory: the engine never checkpoints a task whose
``secret`` is True (the mechanism that keeps a ``Parameter(secret=True)`` off disk),
and options that would write it (``result``, ``target``, ``cache_for``,
``checkpoint=True``) are refused when the task is made.
"""

from __future__ import annotations

from typing import Any

from ...errors import TaskDefinitionError
from ...secrets import Secret
from ...task import Task

__all__ = ["SecretBase", "PrefectSecret"]


class SecretBase(Task):
    """Base of the tasks that return a secret value; subclass it for other secret stores."""

    #: read by the engine: a secret task's result is never checkpointed
    secret = True

    def __init__(self, **kwargs: Any) -> None:
        name = kwargs.get("name") or type(self).__name__
        for option in ("result", "target", "cache_for", "checkpoint"):
            if kwargs.get(option):
                raise TaskDefinitionError(
                    f"Secret task {name!r}: {option}={kwargs[option]!r} would write the "
                    "secret's value to disk, which secret tasks never do; remove it (a task "
                    "downstream may cache or checkpoint what it derives from the secret)."
                )
        kwargs["checkpoint"] = False
        super().__init__(**kwargs)


class PrefectSecret(SecretBase):
    """Returns the local secret ``name`` (``Secret(name).get()``); the task is named after it."""

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        self.secret_name = name
        super().__init__(name=name, **kwargs)

    def run(self, name: str | None = None) -> Any:  # type: ignore[override]
        name = self.secret_name if name is None else name
        if name is None:
            raise ValueError(
                f"Task {self.name!r}: a secret name must be provided: PrefectSecret('NAME') "
                "or call it in the flow with name='NAME'."
            )
        return Secret(name).get()
