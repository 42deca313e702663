"""case around mapped tasks, and a mapped task feeding a case condition."""


def build(P, R):
    @P.task
    def flag(x):
        return x

    @P.task
    def inc(x):
        return x + 1

    @P.task
    def total(xs):
        return sum(xs)

    with P.Flow("case_mapped") as flow:
        on = P.Parameter("on", default=True)
        f = flag(on)
        with P.case(f, True):
            m = inc.map([1, 2, 3])
            t = total(m)
        other = inc.map([10, 20], upstream_tasks=[P.unmapped(t)])

    return {"flow": flow, "tasks": {"flag": f, "inc": m, "total": t, "other": other},
            "runs": [{}, {"parameters": {"on": False}}]}
