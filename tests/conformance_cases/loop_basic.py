"""LOOP: context per iteration, handler transitions, final result downstream."""


def build(P, R):
    def make(name):
        def h(task, old, new):
            R.olog(name, [type(old).__name__, type(new).__name__, new.message])
            return new
        return h

    @P.task(state_handlers=[make("counter_handler")])
    def counter(limit):
        ctx = P.context
        R.olog("ctx", [ctx.get("task_loop_result"), ctx.get("task_loop_count"),
                       ctx.get("task_run_count")])
        n = ctx.get("task_loop_result", 0)
        if n < limit:
            raise P.signals.LOOP(result=n + 1)
        return n

    @P.task(state_handlers=[make("fib_handler")])
    def fib(n):
        payload = P.context.get("task_loop_result", {"a": 0, "b": 1, "i": 0})
        if payload["i"] >= n:
            return payload["a"]
        raise P.signals.LOOP(message=f"fib {payload['i']}",
                             result={"a": payload["b"], "b": payload["a"] + payload["b"],
                                     "i": payload["i"] + 1})

    @P.task
    def after(x):
        return ["after", x]

    with P.Flow("loop_basic") as flow:
        c = counter(3)
        a = after(c)
        f = fib(7)

    return {"flow": flow, "tasks": {"counter": c, "after": a, "fib": f}}
