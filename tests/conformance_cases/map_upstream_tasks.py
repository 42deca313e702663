"""`.map(..., upstream_tasks=[t])`: the upstream task's result takes part in
mapping; unmapped(t) is only a dependency; set_upstream ordering."""


def build(P, R):
    @P.task
    def side():
        return "side"

    @P.task
    def only():
        return ["only"]

    @P.task
    def fail():
        raise ValueError("dep failed")

    @P.task
    def inc(x):
        return x + 1

    with P.Flow("map_upstream_tasks") as flow:
        s = side()
        o = only()
        f = fail()
        a = inc.map([1, 2], upstream_tasks=[s])
        b = inc.map([1, 2], upstream_tasks=[o])
        c = inc.map([1, 2], upstream_tasks=[P.unmapped(o)])
        d = inc.map([1, 2], upstream_tasks=[P.unmapped(f)])
        e = inc(5, upstream_tasks=[f])
        g = inc(6)
        g.set_upstream(s)

    return {"flow": flow, "tasks": {"with_side": a, "with_only": b, "unmapped_only": c,
                                     "unmapped_fail": d, "plain_after_fail": e, "set_upstream": g}}
