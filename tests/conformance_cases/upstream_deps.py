"""Ordering-only dependencies: upstream_tasks with a skipped, failed or
successful task, set_downstream, and a task with both data and order edges."""


def build(P, R):
    @P.task
    def ok():
        R.olog("order", "ok")
        return "ok"

    @P.task
    def skip():
        raise P.signals.SKIP("s")

    @P.task
    def bad():
        raise ValueError("bad")

    @P.task
    def after():
        R.olog("order", "after")
        return "after"

    @P.task
    def use(x):
        return x

    @P.task(trigger=P.triggers.all_finished)
    def finish():
        return "finished"

    with P.Flow("upstream_deps") as flow:
        o = ok()
        s = skip()
        b = bad()
        a1 = after(upstream_tasks=[o])
        a2 = use("v", upstream_tasks=[s])
        a3 = use(o, upstream_tasks=[b])
        a4 = finish(upstream_tasks=[b, o])
        a5 = use(7)
        o.set_downstream(a5)
        a6 = finish(upstream_tasks=[s])

    return {"flow": flow, "tasks": {"after_ok": a1, "after_skip": a2, "after_bad": a3,
                                     "finish": a4, "set_downstream": a5,
                                     "finish_after_skip": a6}}
