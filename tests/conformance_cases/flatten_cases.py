"""flatten: constant list of lists, mapped lists (with empty sublists),
non-mapped consumer of a flattened mapped result, flatten of flatten."""


def build(P, R):
    @P.task
    def inc(x):
        return x + 1

    @P.task
    def expand(n):
        return list(range(n))

    @P.task
    def nested():
        return [[1, 2], [], [3]]

    @P.task
    def collect(xs):
        return xs

    @P.task
    def pairs(x):
        return [[x], [x, x]]

    with P.Flow("flatten_cases") as flow:
        a = inc.map(P.flatten([[1, 2], [3]]))
        e = expand.map([0, 2, 3])
        b = inc.map(P.flatten(e))
        c = collect(P.flatten(e))
        n = nested()
        d = inc.map(P.flatten(n))
        p = pairs.map([5, 6])
        f1 = collect.map(P.flatten(p))
        f2 = inc.map(P.flatten(f1))

    return {"flow": flow, "tasks": {"const": a, "expand": e, "from_mapped": b, "collect": c,
                                     "from_nested": d, "pairs": p, "flat_once": f1,
                                     "flat_twice": f2}}
