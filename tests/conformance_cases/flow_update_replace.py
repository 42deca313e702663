"""flow.update(other) with and without merge_parameters, flow.replace(old, new), chain."""


def build(P, R):
    @P.task
    def inc(x):
        return x + 1

    @P.task
    def double(x):
        return 2 * x

    @P.task
    def show(x):
        R.olog("order", f"show {x}")
        return f"value {x}"

    @P.task
    def first():
        R.olog("order", "first")
        return "first"

    with P.Flow("part") as other:
        n2 = P.Parameter("n", default=100)
        d = double(n2)

    with P.Flow("flow_update_replace") as flow:
        n = P.Parameter("n", default=1)
        i = inc(n)
        s = show(i)
        f = first()
    flow.chain(f, s)
    flow.update(other, merge_parameters=True)
    new_inc = double.copy(name="double_instead")
    flow.replace(i, new_inc)
    return {
        "flow": flow,
        "tasks": {"d": d, "show": s, "replaced": new_inc, "first": f},
        "runs": [{}, {"parameters": {"n": 5}}],
    }
