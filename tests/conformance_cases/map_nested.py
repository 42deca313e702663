"""Map over a mapped result with an unmapped mapped result and a second mapped
input of different length; map a reduced result again."""


def build(P, R):
    @P.task
    def inc(x):
        return x + 1

    @P.task
    def combine(x, y, all_):
        return [x, y, sum(all_)]

    @P.task
    def chunks(xs):
        return [xs[:2], xs[2:]]

    @P.task
    def length(xs):
        return len(xs)

    with P.Flow("map_nested") as flow:
        a = inc.map([1, 2, 3, 4])
        b = inc.map([10, 20, 30])
        c = combine.map(a, b, P.unmapped(a))
        ch = chunks(a)
        ln = length.map(ch)
        again = inc.map(ln)

    return {"flow": flow, "tasks": {"combine": c, "chunks": ch, "length": ln, "again": again}}
