"""State handlers on a mapped task: parent and per-child transitions with map_index;
on_failure per failing child."""


def build(P, R):
    def h(task, old, new):
        R.log("handler", [P.context.get("map_index"), type(old).__name__, type(new).__name__])
        return new

    def on_fail(task, state):
        R.log("on_failure", [P.context.get("map_index"), type(state).__name__])

    @P.task(state_handlers=[h], on_failure=on_fail)
    def work(x):
        if x == 2:
            raise ValueError("two")
        return x

    @P.task(state_handlers=[h])
    def nothing(x):
        return x

    with P.Flow("handlers_mapped") as flow:
        w = work.map([1, 2, 3])
        e = nothing.map([])

    return {"flow": flow, "tasks": {"work": w, "empty": e}}
