"""Task state handlers: transitions for success, failure with retries,
upstream failure (TriggerFailed), SKIP, upstream skip; on_failure callback."""
from datetime import timedelta


def build(P, R):
    def make(name):
        def h(task, old, new):
            R.olog(name, [type(old).__name__, type(new).__name__])
            return new
        return h

    def on_fail(task, state):
        R.log("on_failure", [task.name, type(state).__name__])

    @P.task(state_handlers=[make("ok")])
    def ok():
        return 1

    @P.task(max_retries=2, retry_delay=timedelta(0), state_handlers=[make("flaky")],
            on_failure=on_fail)
    def flaky():
        n = R.incr("flaky")
        if n < 3:
            raise ValueError(f"attempt {n}")
        return n

    @P.task(max_retries=1, retry_delay=timedelta(0), state_handlers=[make("broken")],
            on_failure=on_fail)
    def broken(x):
        raise RuntimeError("always")

    @P.task(state_handlers=[make("down")], on_failure=on_fail)
    def down(x):
        return x

    @P.task(state_handlers=[make("skipper")])
    def skipper():
        raise P.signals.SKIP("not today")

    @P.task(state_handlers=[make("after_skip")])
    def after_skip(x):
        return x

    with P.Flow("handlers_transitions") as flow:
        a = ok()
        f = flaky()
        b = broken(a)
        d = down(b)
        s = skipper()
        af = after_skip(s)

    return {"flow": flow, "tasks": {"ok": a, "flaky": f, "broken": b, "down": d,
                                     "skipper": s, "after_skip": af}}
