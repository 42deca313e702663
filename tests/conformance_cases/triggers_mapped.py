"""Triggers on mapped children (each child sees its own upstream child) and on
reduces over mapped parents."""


def build(P, R):
    @P.task
    def check(x):
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    @P.task(trigger=P.triggers.any_failed)
    def on_fail(x):
        return "saw failure"

    @P.task(trigger=P.triggers.all_failed)
    def all_failed_reduce(xs):
        return len(xs)

    @P.task(trigger=P.triggers.any_successful)
    def any_ok_reduce(xs):
        return [type(x).__name__ for x in xs]

    @P.task(trigger=P.triggers.some_successful(at_least=2))
    def two_ok(xs):
        return "two ok"

    def edges(upstream_states):
        R.log("edges", sorted([e.key or "<none>", bool(e.mapped), bool(e.flattened),
                               type(s).__name__] for e, s in upstream_states.items()))
        return True

    @P.task(trigger=edges)
    def inspect(x, y):
        return [x, y]

    @P.task
    def lists(x):
        return [x]

    with P.Flow("triggers_mapped") as flow:
        c = check.map([1, 2, 3])
        f = on_fail.map(c)
        af = all_failed_reduce(check.map([1, 3]))
        ao = any_ok_reduce(c)
        t2 = two_ok(c)
        ls = lists.map([4, 6])
        i = inspect.map(P.flatten(ls), P.unmapped(c))

    return {"flow": flow, "tasks": {"check": c, "on_fail": f, "all_failed": af, "any_ok": ao,
                                     "two_ok": t2, "inspect": i}}
