"""timeout: a slow task ends TimedOut, is retried, downstream TriggerFailed;
a fast task with a timeout succeeds; all_finished sees the TimedOut result."""
import time
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        R.olog("slow_handler", [type(old).__name__, type(new).__name__])
        return new

    @P.task(timeout=1, max_retries=1, retry_delay=timedelta(0), state_handlers=[h])
    def slow():
        R.incr("slow")
        time.sleep(3)
        return "never"

    @P.task(timeout=5)
    def fast():
        return "fast"

    @P.task
    def down(x):
        return x

    @P.task(trigger=P.triggers.all_finished)
    def finisher(x):
        return isinstance(x, BaseException)

    with P.Flow("timeouts") as flow:
        s = slow()
        f = fast()
        d = down(s)
        fin = finisher(s)

    return {"flow": flow, "tasks": {"slow": s, "fast": f, "down": d, "finisher": fin}}
