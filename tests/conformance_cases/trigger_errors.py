"""Custom triggers that return False, raise, or raise a signal; a trigger
with no upstreams; triggers seeing a Mapped upstream."""


def build(P, R):
    def never(upstream_states):
        return False

    def explode(upstream_states):
        raise RuntimeError("trig boom")

    def skipper(upstream_states):
        raise P.signals.SKIP("trigger skipped me")

    def inspect(upstream_states):
        R.log("inspect", sorted([e.key if e.key is not None else "<none>",
                                 type(s).__name__, len(getattr(s, "map_states", None) or [])]
                                for e, s in upstream_states.items()))
        return True

    @P.task
    def src():
        return [1, 2]

    @P.task
    def inc(x):
        return x + 1

    @P.task(trigger=never)
    def t_never(x):
        return x

    @P.task(trigger=explode)
    def t_explode(x):
        return x

    @P.task(trigger=skipper)
    def t_skipper(x):
        return x

    @P.task(trigger=inspect)
    def t_inspect(xs, other):
        return sum(xs) + other

    @P.task(trigger=never)
    def lonely():
        return "lonely"

    @P.task
    def after(x):
        return x

    with P.Flow("trigger_errors") as flow:
        s = src()
        m = inc.map(s)
        n = t_never(s)
        e = t_explode(s)
        k = t_skipper(s)
        i = t_inspect(m, 10, upstream_tasks=[s])
        lo = lonely()
        a = after(k)

    return {"flow": flow, "tasks": {"never": n, "explode": e, "skipper": k, "inspect": i,
                                     "lonely": lo, "after_skipper": a}}
