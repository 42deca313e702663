"""timeout given as a timedelta; a state handler that turns TimedOut into Success;
on_failure sees TimedOut."""
import time
from datetime import timedelta


def build(P, R):
    def rescue(task, old, new):
        if type(new).__name__ == "TimedOut":
            return P.states.Success(result="rescued from timeout")
        return new

    def on_fail(task, state):
        R.olog("on_failure", type(state).__name__)

    @P.task(timeout=timedelta(seconds=1), state_handlers=[rescue])
    def slow_rescued():
        time.sleep(3)
        return "late"

    @P.task(timeout=1, on_failure=on_fail)
    def slow():
        time.sleep(3)
        return "late"

    @P.task
    def after(x):
        return ["after", x]

    with P.Flow("timeout_handlers") as flow:
        s = slow_rescued()
        a = after(s)
        t = slow()

    return {"flow": flow, "tasks": {"slow_rescued": s, "after": a, "slow": t}}
