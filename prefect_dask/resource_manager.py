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
init or setup did not succeed (Prefect 1's semantics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import signals
from .context import current_flow
from .control_flow import Block
from .errors import NoFlowContextError
from .task import Task

__all__ = ["resource_manager", "ResourceManager", "resource_cleanup_trigger"]


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


class _Init(Task):
    bookkeeping = True  # not a default reference task (Prefect 1)

    def __init__(self, resource_class: Any, **kwargs: Any) -> None:
        self.resource_class = resource_class
        kwargs.setdefault("name", f"{getattr(resource_class, '__name__', 'resource')}")
        super().__init__(**kwargs)

    def run(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return self.resource_class(**kwargs)


class _Setup(Task):
    def run(self, mgr: Any) -> Any:  # type: ignore[override]
        return mgr.setup() if hasattr(mgr, "setup") else None


class _Cleanup(Task):
    bookkeeping = True

    def run(self, mgr: Any, resource: Any = None) -> None:  # type: ignore[override]
        if hasattr(mgr, "cleanup"):
            mgr.cleanup(resource)


class _Block(Block):
    """The ``with`` block of one resource: wires the tasks created inside it."""

    kind = "resource"

    def __init__(self, flow: Any, init: Task, setup: Task, cleanup: Task) -> None:
        super().__init__()
        self.flow = flow    # tasks of another flow added inside the block are an error
        self.init, self.setup, self.cleanup = init, setup, cleanup

    def __repr__(self) -> str:
        return f"resource {self.init.name!r}"

    def __enter__(self) -> Task:
        super().__enter__()
        return self.setup

    def wire(self, flow: Any, block: set[Task]) -> None:
        for t in block:
            ups = flow.upstream_tasks(t)
            if not (ups & block) and self.setup not in ups:
                flow.add_edge(self.setup, t)
            downs = flow.downstream_tasks(t)
            if not (downs & block) and self.cleanup not in downs:
                flow.add_edge(t, self.cleanup)


class ResourceManager:
    """Calling it inside a flow builds the init/setup/cleanup tasks (see module docstring)."""

    def __init__(self, resource_class: Any, name: str | None = None) -> None:
        self.resource_class = resource_class
        self.name = name or getattr(resource_class, "__name__", "resource")

    def __call__(self, *args: Any, flow: Any = None, **kwargs: Any) -> _Block:
        flow = flow if flow is not None else current_flow()
        if flow is None:
            raise NoFlowContextError(
                f"Resource manager {self.name!r} was used outside a flow; use it inside "
                "`with Flow(...):` as `with Resource(...) as resource:`.")
        import inspect

        bound = inspect.signature(self.resource_class).bind(*args, **kwargs)
        init = _Init(self.resource_class, name=self.name)
        init.bind(flow=flow, **bound.arguments)
        setup = _Setup(name=f"{self.name}.setup")
        setup.bind(mgr=init, flow=flow)
        cleanup = _Cleanup(name=f"{self.name}.cleanup", trigger=resource_cleanup_trigger,
                           skip_on_upstream_skip=False)
        cleanup.bind(mgr=init, resource=setup, flow=flow)
        return _Block(flow, init, setup, cleanup)


def resource_manager(resource_class: Any = None, *, name: str | None = None) -> Any:
    """Decorate a class with ``setup()`` and ``cleanup(resource)`` methods (see module docstring)."""
    if resource_class is None:
        return lambda cls: ResourceManager(cls, name=name)
    return ResourceManager(resource_class, name=name)
