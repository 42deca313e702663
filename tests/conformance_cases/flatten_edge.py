"""flatten over a mapped parent with a failed child and a skipped child, and a
flattened constant containing a non-list item."""


def build(P, R):
    @P.task
    def lists(x):
        if x == 2:
            raise ValueError("no list for 2")
        if x == 3:
            raise P.signals.SKIP("skip 3")
        return [x, x * 10]

    @P.task
    def inc(x):
        return x + 1

    @P.task(trigger=P.triggers.all_finished, skip_on_upstream_skip=False)
    def collect(xs):
        return [x if not isinstance(x, BaseException) else type(x).__name__ for x in xs]

    with P.Flow("flatten_edge") as flow:
        l = lists.map([1, 2, 3, 4])
        f = inc.map(P.flatten(l))
        c = collect(P.flatten(l))
        ok = lists.map([1, 4])
        both = collect(P.flatten(ok))

    return {"flow": flow, "tasks": {"lists": l, "flat_inc": f, "flat_collect": c,
                                     "both": both}}
