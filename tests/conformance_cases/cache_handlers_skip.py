"""Handler transitions of a cached task on a cache hit after an upstream
that is skipped in one run."""
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        R.olog("handler", [type(old).__name__, type(new).__name__])
        return new

    @P.task
    def gate(go):
        if not go:
            raise P.signals.SKIP("no go")
        return 1

    @P.task(cache_for=timedelta(minutes=10), state_handlers=[h], name=f"cached-{R.uid}")
    def cached(x):
        R.incr("cached")
        return x + 1

    with P.Flow("cache_handlers_skip") as flow:
        go = P.Parameter("go", default=True)
        g = gate(go)
        c = cached(g)

    return {"flow": flow, "tasks": {"cached": c},
            "runs": [{}, {"parameters": {"go": False}}, {}]}
