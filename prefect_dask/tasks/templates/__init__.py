"""Text templates as tasks (Prefect 1's ``prefect.tasks.templates``): ``StringFormatter``
(``str.format``) and ``JinjaTemplate`` (needs ``pip install 'prefect_dask[templates]'``)."""

from .strings import StringFormatter

try:
    from .jinja2 import JinjaTemplate
except ImportError:  # jinja2 is optional: JinjaTemplate's module says how to install it
    pass

__all__ = ["StringFormatter", "JinjaTemplate"]
