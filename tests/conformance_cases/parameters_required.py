"""Parameter(required=True) with a default, explicit None for a required
Parameter, and an unknown flow.run keyword argument."""


def build(P, R):
    @P.task
    def show(a, b):
        return [a, b]

    with P.Flow("parameters_required") as flow:
        a = P.Parameter("a", default=1, required=True)
        b = P.Parameter("b")
        s = show(a, b)

    return {"flow": flow, "tasks": {"a": a, "b": b, "show": s},
            "runs": [{"parameters": {"b": 2}},
                     {"parameters": {"b": None}},
                     {"parameters": {"a": 5, "b": 2}},
                     {"parameters": {"b": 2}, "zz": 1},
                     {"b": 3}]}
