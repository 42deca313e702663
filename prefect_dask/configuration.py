"""``config``: Prefect 1's settings that mean something here, read-only.

Prefect 1 programs read ``prefect.config`` (``config.flows.checkpointing``,
``config.logging.level``, ``config.context.secrets``...).  The values are Prefect
1's defaults where prefect_dask does the same thing, overridden by Prefect 1's
environment variables ``PREFECT__SECTION__KEY=value`` (``true``/``false`` and Python
literals are parsed; secret names under ``PREFECT__CONTEXT__SECRETS__`` keep their
case), read once at import.  Nothing changes them while a program runs: set the
environment variable before it starts, or use ``with context(checkpointing=False):``
for one run.

>>> from prefect_dask.configuration import load
>>> cfg = load({"PREFECT__FLOWS__CHECKPOINTING": "false", "PREFECT__CONTEXT__SECRETS__Api": "x"})
>>> cfg.flows.checkpointing, cfg["context"]["secrets"].to_dict()
(False, {'Api': 'x'})
>>> cfg.logging.level
'INFO'
"""

from __future__ import annotations

import ast
import copy
import os
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Config", "ConfigReadOnlyError", "DEFAULTS", "load", "config"]

PREFIX = "PREFECT__"

# Prefect 1.4.1's defaults for what works without a server, except checkpointing: on,
# as prefect_dask always did (results go where a task's result / target / checkpoint says;
# Prefect 1 wrote nothing in a local run unless PREFECT__FLOWS__CHECKPOINTING=true).
DEFAULTS: dict[str, Any] = {
    "debug": False,
    "home_dir": os.path.expanduser("~/.prefect"),
    "backend": "none",
    "logging": {
        "level": os.environ.get("PREFECT_DASK_LOGGING_LEVEL", "INFO"),
        "format": os.environ.get("PREFECT_DASK_LOGGING_FORMAT",
                                 "[%(asctime)s] %(levelname)s - %(name)s | %(message)s"),
        "datefmt": "%Y-%m-%d %H:%M:%S%z",
        "log_attributes": [],
        "extra_loggers": [],
    },
    "flows": {
        "checkpointing": True,
        "eager_edge_validation": False,
        "run_on_schedule": True,
    },
    "tasks": {"defaults": {"max_retries": False, "retry_delay": False}},
    "context": {"secrets": {}},
    "cloud": {"use_local_secrets": True},
    "engine": {
        "executor": {"default_class": "prefect.executors.LocalExecutor",
                     "dask": {"address": "",
                              "cluster_class": "distributed.deploy.local.LocalCluster"}},
        "flow_runner": {"default_class": "prefect.engine.flow_runner.FlowRunner"},
    },
}


class ConfigReadOnlyError(TypeError):
    """Something tried to change ``config`` while the program runs."""


def _parse(raw: str) -> Any:
    """A value from the environment, as Prefect 1 reads it.

    >>> _parse("TRUE"), _parse("3"), _parse("[1, 2]"), _parse("hello")
    (True, 3, [1, 2], 'hello')
    """
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return raw


class Config(Mapping):
    """A read-only mapping of settings with attribute access (``config.flows.checkpointing``)."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: Mapping[str, Any], path: str = "config") -> None:
        object.__setattr__(self, "_data", dict(data))
        object.__setattr__(self, "_path", path)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return Config(value, f"{self._path}.{key}") if isinstance(value, Mapping) else value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{self._path} has no setting {name!r}; it has: "
                                 f"{', '.join(sorted(self._data)) or 'none'}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        env = PREFIX + "__".join([*self._path.split(".")[1:], name]).upper()
        raise ConfigReadOnlyError(
            f"{self._path}.{name} cannot be changed while the program runs (prefect_dask "
            f"reads its settings once, at import): set the environment variable {env} "
            "before starting the program, or pass the value for one run (for "
            "checkpointing: `with prefect.context(checkpointing=False): flow.run()`).")

    __setitem__ = __delattr__ = __delitem__ = __setattr__

    def to_dict(self) -> dict[str, Any]:
        """A plain, deep copy of the settings."""
        return copy.deepcopy(self._data)

    def __reduce__(self) -> tuple:
        return (Config, (self._data, self._path))

    def __repr__(self) -> str:
        return f"<Config {self._path}: {self._data!r}>"


def load(environ: Mapping[str, str] | None = None) -> Config:
    """The defaults overridden by ``PREFECT__A__B=value`` variables of ``environ``."""
    data = copy.deepcopy(DEFAULTS)
    environ = os.environ if environ is None else environ
    for name, raw in sorted(environ.items()):
        if not name.startswith(PREFIX) or len(name) == len(PREFIX):
            continue
        parts = name[len(PREFIX):].split("__")
        lowered = [p.lower() for p in parts]
        keys = [*lowered[:2], *parts[2:]] if lowered[:2] == ["context", "secrets"] else lowered
        node = data
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[keys[-1]] = _parse(raw)
    return Config(data)


config = load()
