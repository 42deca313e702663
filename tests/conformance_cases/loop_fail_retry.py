"""LOOP that fails on an iteration, with max_retries: what loop state does the
retry resume from, and what do run counts look like."""
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        R.olog("handler", [type(old).__name__, type(new).__name__])
        return new

    @P.task(max_retries=1, retry_delay=timedelta(0), state_handlers=[h])
    def looper():
        ctx = P.context
        n = ctx.get("task_loop_result", 0)
        R.olog("ctx", [n, ctx.get("task_loop_count"), ctx.get("task_run_count")])
        if n == 2 and R.incr("failed_once") == 1:
            raise ValueError("flaky at 2")
        if n < 4:
            raise P.signals.LOOP(result=n + 1)
        return n

    with P.Flow("loop_fail_retry") as flow:
        lp = looper()

    return {"flow": flow, "tasks": {"looper": lp}}
