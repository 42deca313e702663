"""Mapping over a literal dict, a Parameter holding a dict, and a tuple of dicts."""


def build(P, R):
    @P.task
    def ident(x):
        return x

    with P.Flow("map_literal_dict") as flow:
        p = P.Parameter("p", default=({"a": 1}, {"b": 2}))
        t = ident.map(p)

    return {"flow": flow, "tasks": {"tuple_of_dicts": t},
            "runs": [{}, {"parameters": {"p": [[1], [2, 3]]}}]}
