"""apply_map over a function that builds several tasks, including a case
block and unmapped arguments."""


def build(P, R):
    @P.task
    def inc(x):
        return x + 1

    @P.task
    def is_even(x):
        return x % 2 == 0

    @P.task
    def half(x):
        return x // 2

    @P.task
    def triple(x):
        return 3 * x + 1

    @P.task
    def add(x, y):
        return x + y

    @P.task
    def total(xs):
        return xs

    def pipeline(x, offset):
        y = inc(x)
        return add(y, offset)

    def collatz(x):
        cond = is_even(x)
        with P.case(cond, True):
            h = half(x)
        with P.case(cond, False):
            t = triple(x)
        return P.merge(h, t)

    with P.Flow("apply_map_cases") as flow:
        r = P.apply_map(pipeline, [1, 2, 3], offset=P.unmapped(100))
        c = P.apply_map(collatz, [4, 5, 6, 7])
        t1 = total(r)
        t2 = total(c)

    return {"flow": flow, "tasks": {"pipeline": r, "collatz": c, "total_pipeline": t1,
                                     "total_collatz": t2}}
