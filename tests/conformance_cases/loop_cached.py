"""LOOP combined with cache_for across two runs, and LOOP with a state handler
that counts iterations."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10), name=f"looper-{R.uid}")
    def looper(n):
        R.incr("iterations")
        cur = P.context.get("task_loop_result", 0)
        if cur < n:
            raise P.signals.LOOP(result=cur + 1)
        return cur

    with P.Flow("loop_cached") as flow:
        n = P.Parameter("n", default=2)
        lp = looper(n)

    return {"flow": flow, "tasks": {"looper": lp}, "runs": [{}, {}]}
