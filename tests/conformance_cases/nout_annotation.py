"""nout inferred from a Tuple return annotation; unpacking into a map."""
from typing import Tuple


def build(P, R):
    @P.task
    def pair(x) -> Tuple[int, list]:
        return x, [x, x + 1]

    @P.task
    def inc(x):
        return x + 1

    with P.Flow("nout_annotation") as flow:
        a, b = pair(1)
        m = inc.map(b)
        c = inc(a)

    return {"flow": flow, "tasks": {"a": a, "b": b, "mapped": m, "c": c}}
