"""THE table: every Prefect 1 module path (and the few names) served from elsewhere.

Keys are Prefect 1 paths relative to ``prefect`` (``"engine.signals"`` is
``prefect.engine.signals``, and so ``prefect_dask.engine.signals``).  Values say
where the object lives here:

* ``"prefect_dask.signals"``: that module is the Prefect path's module;
* ``"prefect_dask.flow:Edge"``: one object, served as the attribute ``Edge`` of the
  parent path (``prefect.core.Edge``);
* ``PACKAGE``: a module that only holds the entries listed under it.

A path whose module really exists under ``prefect_dask`` at the same relative path
(``prefect.tasks.shell`` -> ``prefect_dask.tasks.shell``) needs no entry, and must not
have one (``tests/test_compat.py`` checks).  **Adding a name is one line here**;
list only names that exist.

``MOVED`` is the second, separate table: prefect_dask's own modules that issue 14
regrouped by layer, old path (relative to ``prefect_dask``) -> the module now.  The
hook serves them under ``prefect_dask.`` only (``import prefect_dask.records`` is
``prefect_dask.store.records``, the same module object), never under ``prefect.``.
"""

from __future__ import annotations

__all__ = ["PATHS", "PACKAGE", "MOVED"]

PACKAGE = ""

PATHS: dict[str, str] = {
    # prefect (the top level is prefect_dask itself)
    "Client": "prefect_dask.compat.cloud:Client",
    # prefect.core
    "core": PACKAGE,
    "core.Task": "prefect_dask.task:Task",
    "core.Flow": "prefect_dask.flow:Flow",
    "core.Parameter": "prefect_dask.task:Parameter",
    "core.Edge": "prefect_dask.flow:Edge",
    "core.flow": "prefect_dask.flow",
    "core.task": "prefect_dask.task",
    "core.edge": "prefect_dask.flow",
    "core.parameter": "prefect_dask.task",
    # prefect.engine (prefect_dask.engine is our engine; Prefect's modules live elsewhere)
    "engine.FlowRunner": "prefect_dask.compat.runners:FlowRunner",
    "engine.TaskRunner": "prefect_dask.compat.runners:TaskRunner",
    "engine.flow_runner": "prefect_dask.compat.runners",
    "engine.task_runner": "prefect_dask.compat.runners",
    "engine.state": "prefect_dask.states",
    "engine.signals": "prefect_dask.signals",
    "engine.result": "prefect_dask.results",
    "engine.result.base": "prefect_dask.results",
    "engine.results": "prefect_dask.results",
    "engine.results.local_result": "prefect_dask.results",
    "engine.results.prefect_result": "prefect_dask.results",
    "engine.results.s3_result": "prefect_dask.results",
    "engine.results.gcs_result": "prefect_dask.results",
    "engine.results.azure_result": "prefect_dask.results",
    "engine.results.constant_result": "prefect_dask.results",
    "engine.serializers": "prefect_dask.results",
    "engine.cache_validators": "prefect_dask.cache_validators",
    "engine.runner.ENDRUN": "prefect_dask.signals:ENDRUN",
    "engine.executors": "prefect_dask.executors",
    # prefect.exceptions
    "exceptions": PACKAGE,
    "exceptions.PrefectSignal": "prefect_dask.signals:PrefectSignal",
    "exceptions.TaskTimeoutSignal": "prefect_dask.signals:TaskTimeoutSignal",
    "exceptions.PrefectException": "prefect_dask.errors:PrefectDaskError",
    # prefect.schedules
    "schedules.schedules": "prefect_dask.schedules",
    "schedules.clocks": "prefect_dask.schedules",
    "schedules.filters": "prefect_dask.schedules",
    "schedules.adjustments": PACKAGE,
    "schedules.adjustments.add": "prefect_dask.schedules:shifted_by",
    "schedules.adjustments.next_weekday": "prefect_dask.schedules:next_weekday",
    # prefect.tasks
    "tasks.control_flow.case": "prefect_dask.tasks.control_flow",
    "tasks.control_flow.conditional": "prefect_dask.tasks.control_flow",
    "tasks.control_flow.filter": "prefect_dask.tasks.control_flow",
    "tasks.prefect": "prefect_dask.compat.cloud",
    "tasks.prefect.flow_run": "prefect_dask.compat.cloud",
    "tasks.prefect.flow_run_cancel": "prefect_dask.compat.cloud",
    "tasks.prefect.flow_run_rename": "prefect_dask.compat.cloud",
    # prefect.utilities
    "utilities.context": "prefect_dask.context",
    "utilities.notifications.notifications": "prefect_dask.utilities.notifications",
    "utilities.tasks.task": "prefect_dask.task:task",
    "utilities.tasks.unmapped": "prefect_dask.task:unmapped",
    "utilities.tasks.apply_map": "prefect_dask.mapping:apply_map",
    "utilities.tasks.tags": "prefect_dask.task:tags",
    "utilities.tasks.as_task": "prefect_dask.task:as_task",
    "utilities.edges": PACKAGE,
    "utilities.edges.unmapped": "prefect_dask.task:unmapped",
    "utilities.edges.flatten": "prefect_dask.task:flatten",
    "utilities.edges.mapped": "prefect_dask.task:mapped",
    # what needs Prefect Cloud or Server: importable, and using it says so
    "client": "prefect_dask.compat.cloud",
    "client.client": "prefect_dask.compat.cloud",
    "client.Secret": "prefect_dask.secrets:Secret",         # local secrets need no server
    "client.secrets": "prefect_dask.secrets",
    "storage": "prefect_dask.compat.cloud",
    "run_configs": "prefect_dask.compat.cloud",
    "agent": "prefect_dask.compat.cloud",
    "backend": "prefect_dask.compat.cloud",
    "artifacts": "prefect_dask.compat.cloud",
    # ... and their submodules, which programs import from too
    "storage.azure": "prefect_dask.compat.cloud",
    "storage.base": "prefect_dask.compat.cloud",
    "storage.bitbucket": "prefect_dask.compat.cloud",
    "storage.codecommit": "prefect_dask.compat.cloud",
    "storage.docker": "prefect_dask.compat.cloud",
    "storage.gcs": "prefect_dask.compat.cloud",
    "storage.git": "prefect_dask.compat.cloud",
    "storage.github": "prefect_dask.compat.cloud",
    "storage.gitlab": "prefect_dask.compat.cloud",
    "storage.local": "prefect_dask.compat.cloud",
    "storage.module": "prefect_dask.compat.cloud",
    "storage.s3": "prefect_dask.compat.cloud",
    "storage.webhook": "prefect_dask.compat.cloud",
    "run_configs.base": "prefect_dask.compat.cloud",
    "run_configs.docker": "prefect_dask.compat.cloud",
    "run_configs.ecs": "prefect_dask.compat.cloud",
    "run_configs.kubernetes": "prefect_dask.compat.cloud",
    "run_configs.local": "prefect_dask.compat.cloud",
    "run_configs.vertex": "prefect_dask.compat.cloud",
    "agent.agent": "prefect_dask.compat.cloud",
    "agent.docker": "prefect_dask.compat.cloud",
    "agent.ecs": "prefect_dask.compat.cloud",
    "agent.kubernetes": "prefect_dask.compat.cloud",
    "agent.local": "prefect_dask.compat.cloud",
    "agent.vertex": "prefect_dask.compat.cloud",
    "backend.artifacts": "prefect_dask.compat.cloud",
    "backend.flow": "prefect_dask.compat.cloud",
    "backend.flow_run": "prefect_dask.compat.cloud",
    "backend.kv_store": "prefect_dask.compat.cloud",
    "backend.task_run": "prefect_dask.compat.cloud",
    "backend.tenant": "prefect_dask.compat.cloud",
}

MOVED: dict[str, str] = {
    # persistence
    "records": "prefect_dask.store.records",
    "history": "prefect_dask.store.history",
    "caching": "prefect_dask.store.caching",
    "targets": "prefect_dask.store.targets",
    # commands and pages over the run history
    "cli": "prefect_dask.app.cli",
    "bench": "prefect_dask.app.bench",
    "report": "prefect_dask.app.report",
    "visualize": "prefect_dask.app.visualize",
    "ui": "prefect_dask.app.ui",
    # now at Prefect 1's own places
    "log": "prefect_dask.utilities.logging",
    "notify": "prefect_dask.utilities.notifications",
    "control_flow": "prefect_dask.tasks.control_flow",
    "resource_manager": "prefect_dask.tasks.core.resource_manager",
}
