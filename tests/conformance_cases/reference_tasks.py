"""set_reference_tasks decides the flow state; a failed non-terminal task
with a TriggerFailed downstream; mapped reference task with a failed child."""


def build(P, R):
    @P.task
    def ok():
        return "ok"

    @P.task
    def bad():
        raise ValueError("bad")

    @P.task
    def after(x):
        return x

    @P.task
    def half(x):
        if x == 1:
            raise ValueError("one")
        return x

    with P.Flow("reference_tasks") as flow:
        o = ok()
        b = bad()
        a = after(b)
        h = half.map([0, 1])
    flow.set_reference_tasks([o])


    return {"flow": flow, "tasks": {"ok": o, "bad": b, "after": a, "half": h}}
