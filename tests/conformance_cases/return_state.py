"""A task that returns State objects or exceptions (not raising them)."""


def build(P, R):
    @P.task
    def returns_failed():
        return P.states.Failed("not really", result=1)

    @P.task
    def returns_exc():
        return ValueError("returned, not raised")

    @P.task
    def returns_none():
        return None

    @P.task
    def down(x):
        return type(x).__name__

    with P.Flow("return_state") as flow:
        f = returns_failed()
        e = returns_exc()
        n = returns_none()
        d1 = down(f)
        d2 = down(e)
        d3 = down(n)

    return {"flow": flow, "tasks": {"returns_failed": f, "returns_exc": e, "returns_none": n,
                                     "down_failed": d1, "down_exc": d2, "down_none": d3}}
