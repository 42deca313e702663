"""flow.run(task_states=...): a finished given state is the task's outcome (it does not run),
an unfinished one (Pending, Scheduled) runs the task; downstream tasks see the given states."""


def build(P, R):
    @P.task
    def src(x):
        R.incr(f"src{x}")
        return x

    @P.task
    def plus(x, y):
        return x + y

    @P.task(trigger=P.triggers.all_finished)
    def show(x):
        return repr(x)

    with P.Flow("task_states_given") as flow:
        a = src(1)
        b = src(2)
        c = src(3)
        d = src(4)
        ab = plus(a, b)
        cd = plus(c, d)
        shown = show(cd)
    return {
        "flow": flow,
        "tasks": {"a": a, "b": b, "c": c, "d": d, "ab": ab, "cd": cd, "shown": shown},
        "runs": [{"task_states": {a: P.states.Success(result=10), b: P.states.Pending(),
                                  c: P.states.Failed("given failure"),
                                  d: P.states.Scheduled()}},
                 {"task_states": {c: P.states.Skipped("given skip")}}],
    }
