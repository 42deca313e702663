"""manual_only trigger: Prefect 1's flow.run asks for approval on stdin."""


def build(P, R):
    @P.task
    def up():
        return 1

    @P.task(trigger=P.triggers.manual_only)
    def approve(x):
        R.incr("approve_ran")
        return x

    with P.Flow("trigger_manual_only") as flow:
        a = approve(up())

    return {"flow": flow, "tasks": {"approve": a}}
