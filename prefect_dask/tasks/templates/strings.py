"""``StringFormatter`` (Prefect 1's ``prefect.tasks.templates.strings``)."""

from __future__ import annotations

from typing import Any

from ...context import context
from ...task import Task

__all__ = ["StringFormatter", "template_values"]


def template_values(format_kwargs: dict[str, Any]) -> dict[str, Any]:
    """What a template sees: the run context (``flow_name``, ``today``, ``map_index``...,
    as in Prefect 1) overlaid with the task's keyword inputs."""
    return {**context.to_dict(), **format_kwargs}


class StringFormatter(Task):
    """``template.format(...)`` with the task's keyword inputs and the run context:
    ``StringFormatter(template="{greeting}, {name}! ({flow_name})")(greeting=..., name=...)``.
    ``template`` may also be given when the task is called."""

    def __init__(self, template: str | None = None, **kwargs: Any) -> None:
        self.template = template or ""
        super().__init__(**kwargs)

    def run(self, template: str | None = None, **format_kwargs: Any) -> str:  # type: ignore[override]
        template = self.template if template is None else template
        try:
            return template.format(**template_values(format_kwargs))
        except KeyError as exc:
            raise KeyError(
                f"Task {self.name!r}: the template names {exc.args[0]!r}, which is neither an "
                f"input of the call nor a context value; pass {exc.args[0]}=... when you "
                "call the task."
            ) from None
