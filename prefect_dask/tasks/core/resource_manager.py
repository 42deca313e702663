"""``resource_manager``: tasks that set up a resource, use it, and always clean it up.

    @resource_manager
    class TempDir:
        def __init__(self, prefix): self.prefix = prefix
        def setup(self): return tempfile.mkdtemp(prefix=self.prefix)
        def cleanup(self, path): shutil.rmtree(path)

    with Flow("f") as flow:
        with TempDir("x") as path:
            write(path)

Three tasks are built: init (constructs the class from the arguments), setup
(returns the resource) and cleanup.  Tasks created in the block run after setup;
cleanup runs once they all finished, whatever their states, and is skipped if
init or setup did not succeed (Prefect 1's semantics).  A class without ``setup``
gets no setup task (the block gives None); setup and cleanup results are never
checkpointed (a resource is often a connection that cannot be written).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ... import signals
from ...context import current_flow
from ..control_flow import Block
from ...errors import NoFlowContextError, TaskDefinitionError
from ...task import Task

__all__ = ["resource_manager", "ResourceManager", "resource_cleanup_trigger", "ResourceInitTask",
           "ResourceSetupTask", "ResourceCleanupTask"]


def resource_cleanup_trigger(upstream_states: Mapping[Any, Any]) -> bool:
    """Run once every upstream finished; skip if the resource's init or setup did not succeed."""
    for edge, state in upstream_states.items():
        if not state.is_finished():
            raise signals.TRIGGERFAIL("Trigger was 'resource_cleanup_trigger' but some of the "
                                      "upstream tasks were not finished.")
        step = {"mgr": "init", "resource": "setup"}.get(getattr(edge, "key", None))
        if step and (state.is_skipped() or not state.is_successful()):
            raise signals.SKIP(f"Resource manager {step} "
                               f"{'skipped' if state.is_skipped() else 'failed'}")
    return True


class ResourceInitTask(Task):
    bookkeeping = True  # not a default reference task (Prefect 1)

    def __init__(self, resource_class: Any, **kwargs: Any) -> None:
        self.resource_class = resource_class
        kwargs.setdefault("name", f"{getattr(resource_class, '__name__', 'resource')}")
        super().__init__(**kwargs)

    def run(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return self.resource_class(**kwargs)


class ResourceSetupTask(Task):
    rerun_on_restart = True   # the resource must exist again for the tasks that run
    def run(self, mgr: Any) -> Any:  # type: ignore[override]
        return mgr.setup()


class ResourceCleanupTask(Task):
    bookkeeping = True
    hides_upstream = True
    rerun_on_restart = True

    def run(self, mgr: Any, resource: Any = None) -> None:  # type: ignore[override]
        if not hasattr(mgr, "cleanup"):
            raise AttributeError(
                f"Resource manager {self.name!r}: {type(mgr).__name__} has no cleanup(resource) "
                "method; define one (it may do nothing) so the block can release the resource.")
        mgr.cleanup(resource)


class _Block(Block):
    """The ``with`` block of one resource: wires the tasks created inside it."""

    kind = "resource"

    def __init__(self, flow: Any, init: Task, setup: Task | None, cleanup: Task) -> None:
        super().__init__()
        self.flow = flow    # tasks of another flow added inside the block are an error
        # Prefect 1's names: the block's three tasks
        self.init_task, self.setup_task, self.cleanup_task = init, setup, cleanup

    def __repr__(self) -> str:
        return f"resource {self.init_task.name!r}"

    def __enter__(self) -> Task | None:
        super().__enter__()
        return self.setup_task

    def wire(self, flow: Any, block: set[Task]) -> None:
        setup, cleanup = self.setup_task, self.cleanup_task
        for t in block:
            ups = flow.upstream_tasks(t)
            if setup is not None and not (ups & block) and setup not in ups:
                flow.add_edge(setup, t)
            downs = flow.downstream_tasks(t)
            if not (downs & block) and cleanup not in downs:
                flow.add_edge(t, cleanup)


class ResourceManager:
    """Calling it inside a flow builds the init/setup/cleanup tasks (see module docstring)."""

    def __init__(self, resource_class: Any, name: str | None = None,
                 init_task_kwargs: dict | None = None, setup_task_kwargs: dict | None = None,
                 cleanup_task_kwargs: dict | None = None) -> None:
        self.resource_class = resource_class
        self.name = name or getattr(resource_class, "__name__", "resource")
        options = set(inspect.signature(Task.__init__).parameters) - {"self"}
        self.task_kwargs = {}
        for step, given in (("init", init_task_kwargs), ("setup", setup_task_kwargs),
                            ("cleanup", cleanup_task_kwargs)):
            bad = sorted(set(given or {}) - options)
            if bad:
                raise TaskDefinitionError(
                    f"Resource manager {self.name!r}: {step}_task_kwargs has {bad[0]!r}, which "
                    "is not a Task option; give options Task(...) takes, e.g. "
                    f"{step}_task_kwargs={{'max_retries': 2}}.")
            self.task_kwargs[step] = dict(given or {})

    def __call__(self, *args: Any, flow: Any = None, **kwargs: Any) -> _Block:
        flow = flow if flow is not None else current_flow()
        if flow is None:
            raise NoFlowContextError(
                f"Resource manager {self.name!r} was used outside a flow; use it inside "
                "`with Flow(...):` as `with Resource(...) as resource:`.")
        bound = inspect.signature(self.resource_class).bind(*args, **kwargs)
        options = self.task_kwargs
        init = ResourceInitTask(self.resource_class, **{"name": self.name, **options["init"]})
        init.bind(flow=flow, **bound.arguments)
        cleanup = ResourceCleanupTask(**{"name": f"{self.name}.cleanup", "checkpoint": False,
                                         "trigger": resource_cleanup_trigger,
                                         "skip_on_upstream_skip": False, **options["cleanup"]})
        setup = None
        if hasattr(self.resource_class, "setup"):
            setup = ResourceSetupTask(**{"name": f"{self.name}.setup", "checkpoint": False,
                                         **options["setup"]})
            setup.bind(mgr=init, flow=flow)
            cleanup.bind(mgr=init, resource=setup, flow=flow)
        else:
            cleanup.bind(mgr=init, flow=flow)
        return _Block(flow, init, setup, cleanup)


def resource_manager(resource_class: Any = None, *, name: str | None = None,
                     init_task_kwargs: dict | None = None, setup_task_kwargs: dict | None = None,
                     cleanup_task_kwargs: dict | None = None) -> Any:
    """Decorate a class with ``setup()`` and ``cleanup(resource)`` methods (see module
    docstring).  ``init_task_kwargs``, ``setup_task_kwargs`` and ``cleanup_task_kwargs`` are
    Task options for the three tasks (``{"max_retries": 2}``, a ``name``, a ``trigger``...);
    the block (``with Resource(...) as r:``, or what ``Resource(...)`` returns) has them as
    ``init_task``, ``setup_task`` and ``cleanup_task``."""
    options = {"name": name, "init_task_kwargs": init_task_kwargs,
               "setup_task_kwargs": setup_task_kwargs, "cleanup_task_kwargs": cleanup_task_kwargs}
    if resource_class is None:
        return lambda cls: ResourceManager(cls, **options)
    return ResourceManager(resource_class, **options)
