"""``flow.visualize()``: the flow as a Graphviz DOT graph, coloured by state after a run.

With the ``graphviz`` Python package (``pip install 'prefect_dask[viz]'``) the
graph is rendered to ``filename.<format>``; without it the ``.dot`` file is
written and the command that renders it is logged.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["to_dot", "visualize", "STATE_COLOURS"]

logger = logging.getLogger("prefect_dask")

STATE_COLOURS = {
    "Success": "#28a745", "Cached": "#20c997", "Mapped": "#17a2b8", "Skipped": "#adb5bd",
    "Failed": "#dc3545", "TriggerFailed": "#fd7e14", "TimedOut": "#e83e8c",
    "Crashed": "#6f42c1", "Cancelled": "#6c757d", "Looped": "#ffc107", "Paused": "#ffc107",
    "Pending": "#f8f9fa", "Running": "#007bff",
}


def _quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(flow: Any, flow_state: Any = None) -> str:
    """DOT text of ``flow``; with ``flow_state``, each task is filled with its state's colour."""
    states = getattr(flow_state, "result", None) or {}
    lines = [f"digraph {_quote(flow.name)} {{", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname=Helvetica];']
    for t in sorted(flow.tasks, key=lambda t: t.slug):
        label = t.name
        state = states.get(t)
        attrs = []
        if state is not None:
            kind = type(state).__name__
            children = getattr(state, "map_states", None)
            label += f"\n{kind}" + (f" ({len(children)} children)" if children is not None
                                     and kind == "Mapped" else "")
            attrs.append(f"fillcolor={_quote(STATE_COLOURS.get(kind, '#ffffff'))}")
        if any(e.mapped for e in flow.edges_to(t)):
            attrs.append("peripheries=2")
        lines.append(f"  {_quote(t.slug)} [label={_quote(label)}{''.join(', ' + a for a in attrs)}];")
    for e in sorted(flow.edges, key=lambda e: (e.upstream_task.slug, e.downstream_task.slug,
                                                e.key or "")):
        attrs = []
        if e.key:
            attrs.append(f"label={_quote(e.key)}")
        if e.mapped:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_quote(e.upstream_task.slug)} -> {_quote(e.downstream_task.slug)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def visualize(flow: Any, flow_state: Any = None, filename: str | None = None,
              format: str = "svg") -> str:
    """Write the flow's graph; returns the path written, or the DOT text if no ``filename``."""
    dot = to_dot(flow, flow_state)
    if filename is None:
        return dot
    try:
        import graphviz
    except ImportError:
        path = f"{filename}.dot"
        with open(path, "w") as fh:
            fh.write(dot)
        logger.info("Wrote %s; render it with: dot -T%s %s -o %s.%s (or pip install graphviz)",
                    path, format, path, filename, format)
        return path
    return graphviz.Source(dot).render(filename, format=format, cleanup=True)
