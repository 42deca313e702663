"""Run ``reference`` flow descriptions on the real Prefect 1.4.1, to check the reference.

Run by a Python that has Prefect 1 installed (not this project's)::

    /path/to/prefect1/python tests/prefect1_runner.py flows.pkl states.pkl

``flows.pkl`` holds a list of node lists (``reference.Node``); ``states.pkl``
gets, for each, ``([Out per node], flow state name)`` as ``reference.interpret``
returns them (attempts counted by a state handler), or ``("error", repr)``.
``test_properties.test_reference_agrees_with_prefect1`` drives it.
"""

from __future__ import annotations

import collections
import logging
import pickle
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from reference import Out, act, norm  # noqa: E402

RUNS: collections.Counter = collections.Counter()   # (task name, map index) -> attempts


def _count(task, old, new):
    import prefect

    if new.is_running():
        RUNS[(task.name, prefect.context.get("map_index"))] += 1
    return new


def build(nodes):
    """The Prefect 1 flow of ``nodes`` and its tasks in node order."""
    import prefect
    from prefect import Flow, Task, triggers, unmapped
    from prefect.engine import signals

    class NodeTask(Task):
        def __init__(self, node, **kwargs):
            self.node = node
            super().__init__(**kwargs)

        def run(self, **kwargs):
            what, arg = act(self.node, prefect.context.get("task_run_count"), kwargs)
            if what == "ok":
                return arg
            if what == "raise":
                raise ValueError(arg)
            raise (signals.FAIL if what == "fail" else signals.SKIP)(arg)

    tasks = []
    with Flow("prop") as flow:
        for j, node in enumerate(nodes):
            options = dict(name=f"t{j}", trigger=getattr(triggers, node.trigger),
                           skip_on_upstream_skip=node.skip_on_upstream_skip,
                           state_handlers=[_count])
            if node.max_retries:
                options.update(max_retries=node.max_retries, retry_delay=timedelta(0))
            t = NodeTask(node, **options)
            kwargs, order = {}, []
            for inp in node.ins:
                src = tasks[inp.src] if isinstance(inp.src, int) else list(inp.src)
                src = src if inp.mapped or not node.is_mapped else unmapped(src)
                if inp.key is None:
                    order.append(src)
                else:
                    kwargs[inp.key] = src
            tasks.append(t.map(upstream_tasks=order, **kwargs) if node.is_mapped
                         else t(upstream_tasks=order, **kwargs))
    return flow, tasks


def observe(state, name, index=None):
    from prefect.engine.state import Mapped

    if isinstance(state, Mapped):
        children = tuple(observe(c, name, i) for i, c in enumerate(state.map_states))
        return Out("Mapped", [c.result for c in children], 0, children)
    return Out(type(state).__name__, norm(state.result), RUNS[(name, index)])


def main(src: str, dst: str) -> None:
    logging.getLogger("prefect").setLevel(logging.CRITICAL)
    out = []
    for nodes in pickle.loads(Path(src).read_bytes()):
        RUNS.clear()
        try:
            flow, tasks = build(nodes)
            state = flow.run()
            out.append(([observe(state.result[t], t.name) for t in tasks],
                        type(state).__name__))
        except Exception as exc:
            out.append(("error", repr(exc)))
    Path(dst).write_bytes(pickle.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:3])
