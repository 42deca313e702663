"""What a state handler sees in the context: names, map_index, run counts."""
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        ctx = P.context
        R.log("ctx", [ctx.get("task_full_name"), ctx.get("map_index"),
                      ctx.get("task_run_count"), type(old).__name__, type(new).__name__])
        return new

    @P.task(state_handlers=[h], max_retries=1, retry_delay=timedelta(0))
    def work(x):
        if x == 1 and R.incr("work1") == 1:
            raise ValueError("first")
        return x

    with P.Flow("handler_context") as flow:
        w = work.map([0, 1])

    return {"flow": flow, "tasks": {"work": w}}
