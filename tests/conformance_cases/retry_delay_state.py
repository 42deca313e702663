"""retry_delay > 0 with a downstream: the flow waits and reruns; handler sees the
Retrying state; elapsed time is at least the delay."""
import time
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        R.olog("handler", [type(old).__name__, type(new).__name__,
                           getattr(new, "run_count", None) if type(new).__name__ == "Retrying"
                           else None])
        return new

    @P.task(max_retries=1, retry_delay=timedelta(seconds=1), state_handlers=[h])
    def flaky():
        R.olog("t", time.time())
        if R.incr("flaky") == 1:
            raise ValueError("first")
        return "ok"

    @P.task
    def after(x):
        return x + "!"

    def post(probes):
        t = probes["logs"].pop("t")
        probes["logs"]["waited"] = [t[1] - t[0] >= 0.9]
        return probes

    with P.Flow("retry_delay_state") as flow:
        f = flaky()
        a = after(f)

    return {"flow": flow, "tasks": {"flaky": f, "after": a}, "postprocess": post}
