"""A cycle added with add_edge (no eager validation): what flow.run does."""


def build(P, R):
    @P.task
    def a(x=None):
        return 1

    @P.task
    def b(x=None):
        return 2

    with P.Flow("flow_cycle") as flow:
        ta = a()
        tb = b(ta)
    flow.add_edge(tb, ta, key="x")

    return {"flow": flow, "tasks": {"a": ta, "b": tb}}
