"""Parameter edge cases: required without value (raises), unknown key (raises),
default None, required=False, kwarg beats parameters=, falsy values."""


def build(P, R):
    @P.task
    def show(a, b, c):
        return [a, b, c]

    with P.Flow("parameters_edge") as flow:
        a = P.Parameter("a")
        b = P.Parameter("b", default=None)
        c = P.Parameter("c", required=False)
        s = show(a, b, c)

    return {"flow": flow, "tasks": {"a": a, "b": b, "c": c, "show": s},
            "runs": [{},
                     {"parameters": {"a": 1, "zz": 2}},
                     {"parameters": {"a": 0}},
                     {"parameters": {"a": 1, "b": False, "c": ""}},
                     {"parameters": {"a": 1}, "a": 2},
                     {"a": [1, 2], "c": {"k": 1}}]}
