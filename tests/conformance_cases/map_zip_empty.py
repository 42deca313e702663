"""Zipping a list with an empty list maps zero children; mapping a string
constant maps per character; downstream of an empty map."""


def build(P, R):
    @P.task
    def ident(x):
        return x

    @P.task
    def add(x, y):
        return x + y

    @P.task
    def total(xs):
        return ["total", xs]

    with P.Flow("map_zip_empty") as flow:
        z = add.map([1, 2], [])
        t = total(z)
        again = ident.map(z)
        s = ident.map("hey")

    return {"flow": flow, "tasks": {"zip_empty": z, "total": t, "again": again,
                                     "string_const": s}}
