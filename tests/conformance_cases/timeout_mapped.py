"""timeout on mapped children: only the slow child times out."""
import time


def build(P, R):
    @P.task(timeout=1)
    def maybe_slow(x):
        if x == 1:
            time.sleep(3)
        return x * 2

    @P.task(trigger=P.triggers.all_finished)
    def count_ok(xs):
        return sum(1 for x in xs if isinstance(x, int))

    with P.Flow("timeout_mapped") as flow:
        m = maybe_slow.map([0, 1, 2])
        c = count_ok(m)

    return {"flow": flow, "tasks": {"maybe_slow": m, "count_ok": c}}
