"""LOOP inside mapped children: each child loops its own number of times."""


def build(P, R):
    @P.task
    def countdown(n):
        cur = P.context.get("task_loop_result", n)
        R.log("iter", [P.context.get("map_index"), cur, P.context.get("task_loop_count")])
        if cur > 0:
            raise P.signals.LOOP(result=cur - 1)
        return ["done", n, P.context.get("task_loop_count")]

    with P.Flow("loop_mapped") as flow:
        c = countdown.map([0, 2, 1])

    return {"flow": flow, "tasks": {"countdown": c}}
