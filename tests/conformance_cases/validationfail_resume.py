"""VALIDATIONFAIL ends a task ValidationFailed; a manual_only task given
task_states={task: Resume()} runs (Prefect 1 prompts on stdin when it pauses, so no run here
lets it pause)."""


def build(P, R):
    @P.task
    def check(x):
        if x < 0:
            raise P.signals.VALIDATIONFAIL("negative")
        return x

    @P.task
    def after(x):
        return x * 10

    @P.task(trigger=P.triggers.manual_only)
    def approve(x):
        R.incr("approved")
        return x + 1

    @P.task
    def final(x):
        return f"done {x}"

    with P.Flow("validationfail_resume") as flow:
        v = check(-1)
        w = after(v)
        a = approve(check(2))
        f = final(a)
    return {
        "flow": flow,
        "tasks": {"v": v, "w": w, "approve": a, "final": f},
        "runs": [{"task_states": {a: P.states.Resume()}}],
    }
