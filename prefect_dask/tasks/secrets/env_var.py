"""``EnvVarSecret``: a secret read from an environment variable of the process the task
runs in (Prefect 1's ``prefect.tasks.secrets.env_var``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .base import PrefectSecret

__all__ = ["EnvVarSecret"]


class EnvVarSecret(PrefectSecret):
    """Returns ``os.environ[name]`` (None if unset, or an error with
    ``raise_if_missing=True``), passed through ``cast`` if given (e.g. ``cast=int``)."""

    def __init__(self, name: str | None = None, cast: Callable[[Any], Any] | None = None,
                 raise_if_missing: bool = False, **kwargs: Any) -> None:
        self.cast = cast
        self.raise_if_missing = raise_if_missing
        super().__init__(name=name, **kwargs)

    def run(self, name: str | None = None) -> Any:  # type: ignore[override]
        name = self.secret_name if name is None else name
        if name is None:
            raise ValueError(
                f"Task {self.name!r}: a secret name must be provided: EnvVarSecret('NAME') "
                "or call it in the flow with name='NAME'."
            )
        value = os.environ.get(name)
        if value is None and self.raise_if_missing:
            raise ValueError(
                f"Task {self.name!r}: environment variable not set: {name}. Set it where the "
                "task runs, or pass raise_if_missing=False to get None."
            )
        return value if value is None or self.cast is None else self.cast(value)
