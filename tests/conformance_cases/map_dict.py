"""Mapping over an upstream task's dict result (Prefect 1 crashes the flow run
with KeyError(0): it indexes the value by position)."""


def build(P, R):
    @P.task
    def mk():
        return {"a": 1, "b": 2}

    @P.task
    def ident(x):
        return x

    with P.Flow("map_dict") as flow:
        d = ident.map(mk())

    return {"flow": flow, "tasks": {"dict_map": d}}
