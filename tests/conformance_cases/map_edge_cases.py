"""Map edge cases: empty upstream list, non-iterable upstream result, string,
tuple, range, dict-of-lists zipped to the shortest, mapping a Parameter."""


def build(P, R):
    @P.task
    def empty():
        return []

    @P.task
    def five():
        return 5

    @P.task
    def word():
        return "abc"

    @P.task
    def tup():
        return (1, 2)

    @P.task
    def ident(x):
        return x

    @P.task
    def add(x, y):
        return [x, y]

    @P.task
    def total(xs):
        return ["total", xs]

    @P.task
    def upper(s):
        return s.upper()

    with P.Flow("map_edge_cases") as flow:
        xs = P.Parameter("xs", default=[1, 2])
        e = ident.map(empty())
        e2 = ident.map(e)
        et = total(e)
        n = ident.map(five())
        nd = total(n)
        s = upper.map(word())
        t = ident.map(tup())
        r = ident.map(range(3))
        z = add.map([1, 2, 3], [10, 20])
        p = add.map(xs, P.unmapped(xs))

    return {"flow": flow,
            "tasks": {"empty": e, "empty_again": e2, "empty_total": et,
                      "map_non_iterable": n, "after_non_iterable": nd, "string": s,
                      "tuple": t, "range": r, "zip_short": z, "param": p},
            "loose": ["map_non_iterable"],
            "runs": [{}, {"parameters": {"xs": []}}]}
