"""A mapped reference task with one failed child fails the flow; an all_finished
reduce after it succeeds but is not the reference task."""


def build(P, R):
    @P.task
    def half(x):
        if x == 1:
            raise ValueError("one")
        return x

    @P.task(trigger=P.triggers.all_finished)
    def reduce(xs):
        return len(xs)

    with P.Flow("reference_tasks_mapped") as flow:
        h = half.map([0, 1, 2])
        r = reduce(h)
    flow.set_reference_tasks([h])

    return {"flow": flow, "tasks": {"half": h, "reduce": r}}
