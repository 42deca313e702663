"""skip_on_upstream_skip=False on mapped and reduce tasks after a mapped SKIP."""


def build(P, R):
    @P.task
    def maybe(x):
        if x < 0:
            raise P.signals.SKIP(f"neg {x}")
        return x

    @P.task(skip_on_upstream_skip=False)
    def describe(x):
        return repr(x) if not isinstance(x, BaseException) else type(x).__name__

    @P.task(skip_on_upstream_skip=False)
    def reduce(xs):
        return [x if not isinstance(x, BaseException) else type(x).__name__ for x in xs]

    @P.task(trigger=P.triggers.not_all_skipped, skip_on_upstream_skip=False)
    def nas(xs):
        return len(xs)

    with P.Flow("map_skip_no_propagate") as flow:
        m = maybe.map([1, -2, 3])
        d = describe.map(m)
        r = reduce(m)
        a = maybe.map([-1, -2])
        n = nas(a)
        n2 = nas(m)

    return {"flow": flow, "tasks": {"maybe": m, "describe": d, "reduce": r, "all_skip": a,
                                     "nas_all_skipped": n, "nas_mixed": n2}}
