"""State handlers that replace states, chain, raise, or raise signals."""


def build(P, R):
    def rescue(task, old, new):
        R.olog("rescue", [type(old).__name__, type(new).__name__])
        if new.is_failed():
            return P.states.Success(result="rescued", message="handler rescued")
        return new

    def second(task, old, new):
        R.olog("second", [type(old).__name__, type(new).__name__])
        return None

    def boom_on_success(task, old, new):
        if new.is_successful():
            raise RuntimeError("handler boom")
        return new

    def fail_signal_on_running(task, old, new):
        if new.is_running():
            raise P.signals.FAIL("refused to run")
        return new

    @P.task(state_handlers=[rescue, second])
    def fails():
        raise ValueError("bad")

    @P.task
    def consumer(x):
        return ["got", x]

    @P.task(state_handlers=[boom_on_success])
    def ran_then_failed():
        R.incr("ran_then_failed_body")
        return 1

    @P.task(state_handlers=[fail_signal_on_running])
    def never_runs():
        R.incr("never_runs_body")
        return 2

    with P.Flow("handlers_replace") as flow:
        f = fails()
        c = consumer(f)
        r = ran_then_failed()
        n = never_runs()

    return {"flow": flow, "tasks": {"fails": f, "consumer": c, "ran_then_failed": r,
                                     "never_runs": n}}
