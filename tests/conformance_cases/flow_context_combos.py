"""Flow state handlers and terminal_state_handler read context.parameters, flow_name and
flow.run(context=...) values across runs with Parameters overridden; a cached mapped task
returning States; map over the merge of two mapped branches chosen by a Parameter; a child
handler rescuing a failure before a reduce; task_run_name and LOOP on a cached mapped task;
a closure over a Parameter already in the flow inside apply_map, and an unmapped one; the
context a custom trigger and a custom cache validator see in mapped children."""
from datetime import timedelta


def build(P, R):
    def ctx():
        return [sorted((P.context.get("parameters") or {}).items()), P.context.get("flow_name"),
                P.context.get("user")]

    def fh(flow, old, new):
        R.olog("flow_handler", [type(new).__name__, *ctx()])
        return new

    def terminal(flow, state, reference_task_states):
        R.olog("terminal", [type(state).__name__, *ctx()])
        return state

    @P.task(cache_for=timedelta(minutes=5), cache_validator=P.cache_validators.all_inputs,
            name=f"rst-{R.uid}")
    def rst(x):
        R.log("rst", x)
        if x == 1:
            return P.states.Success("s", result=x * 2)
        return x

    @P.task
    def kind(x):
        return type(x).__name__

    @P.task
    def double(x):
        return 2 * x

    @P.task
    def neg(x):
        return -x

    def rescue(t, old, new):
        if new.is_failed():
            R.log("rescue", P.context.get("map_index"))
            return P.states.Success("rescued", result=-100)
        return new

    @P.task(state_handlers=[rescue])
    def fragile(x):
        if x < 0:
            raise ValueError("neg")
        return x

    @P.task
    def total(xs):
        return sum(xs)

    @P.task(cache_for=timedelta(minutes=5), cache_validator=P.cache_validators.all_inputs,
            name=f"lc-{R.uid}", task_run_name="lc-{x}")
    def lc(x):
        i = P.context.get("task_loop_count", 1)
        R.log("lc", [x, i, P.context.get("task_run_name")])
        if i < x:
            raise P.signals.LOOP(result=i)
        return [x, i]

    def snap():
        c = P.context
        return [(c.get("task_name") or "").replace(R.uid, "U"), c.get("map_index"),
                c.get("task_run_count"), sorted((c.get("parameters") or {}).items())]

    def validator(state, inputs, parameters):
        R.log("validator", snap())
        return True

    def trigger(upstream_states):
        R.log("trigger", snap())
        return all(s.is_successful() for s in upstream_states.values())

    @P.task(cache_for=timedelta(minutes=5), cache_validator=validator, name=f"cv-{R.uid}",
            trigger=trigger)
    def cv(x):
        return x

    @P.task
    def pair(a, b):
        return [a, b]

    with P.Flow("flow_context_combos", state_handlers=[fh],
                terminal_state_handler=terminal) as flow:
        xs = P.Parameter("xs", default=[1, 2, 3])
        up = P.Parameter("up", default=True)
        ks = P.Parameter("ks", default=[7, 8, 9])
        r = rst.map(xs)
        k = kind.map(r)
        with P.case(up, True):
            a = double.map(xs)
        with P.case(up, False):
            b = neg.map(xs)
        m = P.merge(a, b)
        f = fragile.map(m)
        t = total(f)
        l = lc.map(xs)
        seen = pair(ks, up)
        closure = P.apply_map(lambda x: pair(x, ks), [1, 2, 3])
        whole = P.apply_map(lambda x, u: pair(x, u), [1, 2], u=P.unmapped(ks))
        checked = cv.map(xs)

    return {"flow": flow,
            "tasks": {"rst": r, "kind": k, "a": a, "b": b, "m": m, "fragile": f, "total": t,
                      "lc": l, "seen": seen, "closure": closure, "whole": whole, "checked": checked},
            "runs": [{"context": {"user": "first"}}, {"parameters": {"up": False}},
                     {"parameters": {"xs": [3, 4], "ks": [5, 6, 7]},
                      "context": {"user": "third"}}]}
