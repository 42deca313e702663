"""State messages seen by handlers for the common transitions."""
import time
from datetime import timedelta


def build(P, R):
    def make(name):
        def h(task, old, new):
            R.olog(name, [type(old).__name__, type(new).__name__, new.message])
            return new
        return h

    @P.task(state_handlers=[make("boom")], max_retries=1, retry_delay=timedelta(0))
    def boom():
        raise ValueError("boom")

    @P.task(state_handlers=[make("after_boom")])
    def after_boom(x):
        return x

    @P.task(state_handlers=[make("skip")])
    def skip():
        raise P.signals.SKIP()

    @P.task(state_handlers=[make("after_skip")])
    def after_skip(x):
        return x

    @P.task(state_handlers=[make("cached")], cache_for=timedelta(minutes=5),
            name=f"cached-{R.uid}")
    def cached():
        return 1

    @P.task(state_handlers=[make("mapped_parent")])
    def mp(x):
        return x

    @P.task(state_handlers=[make("timeout")], timeout=1)
    def slow():
        time.sleep(3)

    @P.task(state_handlers=[make("fail_sig")])
    def fail_sig():
        raise P.signals.FAIL()

    with P.Flow("handler_messages") as flow:
        b = boom()
        ab = after_boom(b)
        s = skip()
        a_s = after_skip(s)
        c = cached()
        m = mp.map([])
        t = slow()
        f = fail_sig()

    return {"flow": flow, "tasks": {"boom": b, "after_boom": ab, "skip": s, "after_skip": a_s,
                                     "cached": c, "mapped": m, "timeout": t, "fail_sig": f}}
