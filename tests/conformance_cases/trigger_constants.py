"""Triggers on tasks that also get constant (literal) arguments: what the
trigger counts as upstream states."""


def build(P, R):
    @P.task
    def bad():
        raise ValueError("bad")

    @P.task
    def good():
        return 1

    @P.task(trigger=P.triggers.all_failed)
    def on_all_failed(x, label):
        return ["all_failed", label]

    @P.task(trigger=P.triggers.any_successful)
    def on_any_success(x, label):
        return ["any_successful", label]

    @P.task(trigger=P.triggers.any_failed)
    def on_any_failed(x, label):
        return ["any_failed", label]

    @P.task(trigger=P.triggers.some_failed(at_least=0.5, at_most=0.5))
    def half_failed(x, label):
        return ["half", label]

    def count(upstream_states):
        R.log("count", sorted([e.key or "<none>", type(s).__name__]
                              for e, s in upstream_states.items()))
        return True

    @P.task(trigger=count)
    def counted(x, label, n=3):
        return [label, n]

    with P.Flow("trigger_constants") as flow:
        b = bad()
        g = good()
        a1 = on_all_failed(b, "cleanup")
        a2 = on_all_failed(b, label=g)
        s1 = on_any_success(b, "x")
        f1 = on_any_failed(g, "y")
        h1 = half_failed(b, "z")
        c1 = counted(g, "lbl")

    return {"flow": flow, "tasks": {"all_failed_const": a1, "all_failed_task": a2,
                                     "any_success_const": s1, "any_failed_const": f1,
                                     "half_failed_const": h1, "counted": c1}}
