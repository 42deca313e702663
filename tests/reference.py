"""A reference interpreter of Prefect 1's run semantics, for property tests.

Plain sequential Python, no Dask and no prefect_dask: it reads a small flow
description (a list of ``Node``\\ s in topological order) and says what final
state and result every task and mapped child must end with, and the flow's
state, following Prefect 1.4.1 (checked against it: ``prefect1_runner.py`` and
``test_properties.test_reference_agrees_with_prefect1``).

What it covers:

- skip propagation: a Skipped upstream skips a task unless
  ``skip_on_upstream_skip=False``; a mapped parent on an unmapped edge counts as
  its children (Prefect 1's ``check_upstream_skipped``);
- triggers ``all_successful, all_failed, any_successful, any_failed,
  all_finished, not_all_skipped`` (Skipped counts as a success; a mapped upstream
  counts as its children; a keyed constant counts as a successful upstream);
- retries: a failed attempt (an exception or ``FAIL``) runs again while
  ``max_retries`` allow; ``SKIP`` is final;
- mapping: children zip their mapped inputs (the shortest wins); child ``i`` of
  a task mapped over a mapped task sees that task's child ``i``; a failed
  upstream on a mapped edge bounds nothing and gives its children ``None`` (but
  one with no result at all, a parent that could not map, gives no children); a
  non-mapped task gets the list of the children's results; a mapped task whose
  mapped upstreams all failed ends ``Failed`` ("No upstream states can be mapped
  over."), one mapping over a successful non-list (a Skipped task included) ends
  ``Failed`` ("At least one upstream state has an unmappable result."); zero-width
  maps give a ``Mapped`` parent with no children;
- the flow is ``Failed`` iff a reference task (a terminal task, a mapped one
  counting as its children) failed, else ``Success``.

One difference from Prefect 1.4.1 on purpose: there a mapped child still
``Retrying`` when every terminal task has finished stays ``Retrying`` (the flow
run ends without retrying it); here, as in prefect_dask, retries always run.

A task's behaviour is a pure function of its description, its inputs and the
attempt number (``act``), so the same description drives the real engine
(``run_node``, a picklable task body) and this interpreter.

>>> nodes = [Node(ins=(In((1, 2, 3), "x", True),), plan=("raise", "ok"), max_retries=1),
...          Node(ins=(In(0, "xs", False),))]
>>> outs, flow = interpret(nodes)
>>> outs[0].state, [c.attempts for c in outs[0].children], outs[1].state, flow
('Mapped', [2, 2, 2], 'Success', 'Success')
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = ["In", "Node", "Exc", "Out", "TRIGGERS", "ACTIONS", "norm", "act", "run_node",
           "task_for", "interpret", "terminal", "SUCCESSFUL", "FAILED"]

TRIGGERS = ("all_successful", "all_failed", "any_successful", "any_failed", "all_finished",
            "not_all_skipped")
ACTIONS = ("ok", "raise", "fail", "skip")   # return a value / ValueError / signals.FAIL / SKIP
SUCCESSFUL = ("Success", "Skipped", "Mapped")
FAILED = ("Failed", "TriggerFailed")


@dataclass(frozen=True)
class In:
    """One input of a node: an upstream node (its index) or a constant list (a tuple).

    ``key`` is the argument name, or None for an ordering-only edge
    (``upstream_tasks=[...]``); constants always have a key.
    """

    src: int | tuple
    key: str | None
    mapped: bool = False


@dataclass(frozen=True)
class Node:
    """One task: its inputs, options, and what each attempt does.

    Attempt ``k`` does ``plan[k - 1]`` (the last entry repeats), but only in runs
    whose inputs' digest is a multiple of ``every``; other runs return a value, so
    some mapped children fail and others do not.  A value is the digest, or a
    list of ``list_len`` numbers.
    """

    ins: tuple[In, ...] = ()
    trigger: str = "all_successful"
    skip_on_upstream_skip: bool = True
    max_retries: int = 0
    plan: tuple[str, ...] = ("ok",)
    every: int = 1
    list_len: int | None = None
    batch_size: int | None = None   # prefect_dask's map_batch_size: must not change anything

    @property
    def is_mapped(self) -> bool:
        return any(i.mapped for i in self.ins)


@dataclass(frozen=True)
class Exc:
    """An exception, as compared: its class name and message."""

    name: str
    msg: str


@dataclass(frozen=True)
class Out:
    """A final state: class name, normalised result, attempts, and a Mapped parent's children."""

    state: str
    result: Any = None
    attempts: int = 0
    children: tuple["Out", ...] | None = None
    #: Prefect 1's NoResult (a parent that could not map): mapping over it gives no children
    nothing: bool = dataclasses.field(default=False, compare=False)

    def ok(self) -> bool:
        return self.state in SUCCESSFUL

    def failed(self) -> bool:
        return self.state in FAILED

    def expand(self) -> list["Out"]:
        """A mapped parent counts as its children."""
        return list(self.children) if self.state == "Mapped" else [self]


def norm(value: Any) -> Any:
    """A value as compared: exceptions become ``Exc``, tuples lists; the rest as is."""
    if isinstance(value, BaseException):
        return Exc(type(value).__name__, str(value))
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    return value


def act(node: Node, attempt: int, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """What ``node`` does on ``attempt`` (1, 2, ...) given its keyword inputs.

    >>> act(Node(), 1, {"x": 1})[0], act(Node(plan=("raise", "ok")), 1, {})
    ('ok', ('raise', 'raise on attempt 1'))
    """
    digest = zlib.crc32(repr(sorted((k, norm(v)) for k, v in kwargs.items())).encode()) % 1000
    what = node.plan[min(attempt, len(node.plan)) - 1] if digest % node.every == 0 else "ok"
    if what == "ok":
        return "ok", digest if node.list_len is None else [digest + j for j in range(node.list_len)]
    return what, f"{what} on attempt {attempt}"


def run_node(node: Node, **kwargs: Any) -> Any:
    """The body of ``node`` as a prefect_dask task (module-level, so it pickles)."""
    from prefect_dask import context, signals

    what, arg = act(node, context.get("task_run_count"), kwargs)
    if what == "ok":
        return arg
    if what == "raise":
        raise ValueError(arg)
    raise (signals.FAIL if what == "fail" else signals.SKIP)(arg)


def task_for(node: Node, name: str) -> Any:
    """A prefect_dask task running ``node`` (its trigger, retries and skip option)."""
    from prefect_dask import task, triggers

    return task(functools.partial(run_node, node), name=name, max_retries=node.max_retries,
                trigger=getattr(triggers, node.trigger),
                skip_on_upstream_skip=node.skip_on_upstream_skip,
                map_batch_size=node.batch_size)


# -- the interpreter ------------------------------------------------------------

def _trigger(name: str, seen: list[Out], any_upstream: bool) -> Out | None:
    """The state a failing trigger gives, or None if the task may run."""
    why = None
    if name == "not_all_skipped" and all(s.state == "Skipped" for s in seen):
        return Out("Skipped", None)      # signals.SKIP("All upstreams were skipped", result=None)
    if name in ("all_successful", "not_all_skipped") and not all(s.ok() for s in seen):
        why = "some of the upstream tasks failed"
    elif name == "all_failed" and not all(s.failed() for s in seen):
        why = "some of the upstream tasks succeeded"
    elif name == "any_successful" and any_upstream and not any(s.ok() for s in seen):
        why = "none of the upstream tasks succeeded"
    elif name == "any_failed" and any_upstream and not any(s.failed() for s in seen):
        why = "none of the upstream tasks failed"
    if why is None:
        return None
    return Out("TriggerFailed", Exc("TRIGGERFAIL", f'Trigger was "{name}" but {why}.'))


def _run_one(node: Node, ups: list[tuple[In, Out]]) -> Out:
    """A non-mapped task or one mapped child: skip check, trigger, attempts."""
    seen = [s for _, up in ups for s in up.expand()]
    if node.skip_on_upstream_skip and any(s.state == "Skipped" for s in seen):
        return Out("Skipped", None)
    verdict = _trigger(node.trigger, seen, bool(ups))
    if verdict is not None:
        return verdict
    kwargs = {inp.key: up.result for inp, up in ups if inp.key is not None}
    attempt = 0
    while True:
        attempt += 1
        what, arg = act(node, attempt, kwargs)
        if what == "ok":
            return Out("Success", arg, attempt)
        if what == "skip":
            return Out("Skipped", Exc("SKIP", arg), attempt)
        if attempt > node.max_retries:
            return Out("Failed", Exc("ValueError" if what == "raise" else "FAIL", arg), attempt)


def _child_view(up: Out, i: int) -> Out:
    """What child ``i`` sees of an upstream on a mapped edge."""
    if up.state == "Mapped":
        return up.children[i]
    return dataclasses.replace(up, result=up.result[i] if isinstance(up.result, list) else None)


def _run_mapped(node: Node, ups: list[tuple[In, Out]]) -> Out:
    """A mapped parent: can it map, how wide, then every child."""
    seen = [s for inp, up in ups for s in ([up] if inp.mapped else up.expand())]
    if node.skip_on_upstream_skip and any(s.state == "Skipped" for s in seen):
        return Out("Skipped", None)
    mapped = [up for inp, up in ups if inp.mapped]
    if not any(up.ok() for up in mapped):
        return Out("Failed", None, nothing=True)   # "No upstream states can be mapped over."
    if any(up.ok() and up.state != "Mapped" and not isinstance(up.result, list) for up in mapped):
        return Out("Failed", None, nothing=True)   # "...upstream state has an unmappable result."
    # the shortest wins; a failed upstream bounds nothing (its children get None), unless it
    # has no result at all: Prefect 1 then stops at once (prepare_upstream_states_for_mapping)
    width = min(len(up.children) if up.state == "Mapped" else
                len(up.result) if up.ok() else 0 if up.nothing else float("inf")
                for up in mapped)
    children = tuple(_run_one(node, [(inp, _child_view(up, i) if inp.mapped else up)
                                     for inp, up in ups])
                     for i in range(int(width)))
    return Out("Mapped", [c.result for c in children], 0, children)


def terminal(nodes: list[Node]) -> list[int]:
    """Indices of the nodes nothing depends on: the reference tasks."""
    used = {i.src for n in nodes for i in n.ins if isinstance(i.src, int)}
    return [j for j in range(len(nodes)) if j not in used]


def interpret(nodes: list[Node]) -> tuple[list[Out], str]:
    """Every node's final ``Out`` and the flow's state ("Success" or "Failed")."""
    outs: list[Out] = []
    for node in nodes:
        ups = [(inp, outs[inp.src] if isinstance(inp.src, int) else Out("Success", list(inp.src)))
               for inp in node.ins]
        outs.append(_run_mapped(node, ups) if node.is_mapped else _run_one(node, ups))
    key_states = [s for j in terminal(nodes) for s in outs[j].expand()]
    return outs, "Failed" if any(s.failed() for s in key_states) else "Success"
