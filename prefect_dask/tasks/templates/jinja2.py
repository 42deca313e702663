"""``JinjaTemplate`` (Prefect 1's ``prefect.tasks.templates.jinja2``); needs jinja2:
``pip install 'prefect_dask[templates]'``."""

from __future__ import annotations

from typing import Any

from ...task import Task
from ...utilities.tasks import defaults_from_attrs
from .strings import template_values

try:
    import jinja2
except ImportError as exc:
    raise ImportError(
        "prefect_dask.tasks.templates.jinja2 (JinjaTemplate) needs the jinja2 package: "
        "pip install 'prefect_dask[templates]'."
    ) from exc

__all__ = ["JinjaTemplate"]


class JinjaTemplate(Task):
    """Render a Jinja template with the task's keyword inputs and the run context:
    ``JinjaTemplate(template="{% for x in xs %}{{ x }} {% endfor %}")(xs=...)``.
    ``template`` may also be given when the task is called."""

    def __init__(self, template: str | None = None, **kwargs: Any) -> None:
        self.template = template or ""
        super().__init__(**kwargs)

    @defaults_from_attrs("template")
    def run(self, template: str | None = None, **format_kwargs: Any) -> str:  # type: ignore[override]
        return jinja2.Template(template).render(**template_values(format_kwargs))
