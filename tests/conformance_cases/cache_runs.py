"""cache_for with the default validator across three runs of one flow:
first run computes and ends Cached, later runs hit the cache (body not run)."""
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        R.olog("handler", [type(old).__name__, type(new).__name__])
        return new

    @P.task(cache_for=timedelta(minutes=10), state_handlers=[h], name=f"expensive-{R.uid}")
    def expensive():
        return 40 + R.incr("body")

    @P.task
    def use(x):
        R.incr("use")
        return x * 2

    with P.Flow("cache_runs") as flow:
        e = expensive()
        u = use(e)

    return {"flow": flow, "tasks": {"expensive": e, "use": u}, "runs": [{}, {}, {}]}
