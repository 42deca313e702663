"""A cached task whose upstream fails in a later run: trigger vs cache order."""
from datetime import timedelta


def build(P, R):
    @P.task
    def check(ok):
        if not ok:
            raise ValueError("upstream broke")
        return 5

    @P.task(cache_for=timedelta(minutes=10), name=f"cached-{R.uid}")
    def cached(x):
        R.incr("cached")
        return x + 1

    with P.Flow("cache_upstream_failed") as flow:
        ok = P.Parameter("ok", default=True)
        c = check(ok)
        d = cached(c)

    return {"flow": flow, "tasks": {"check": c, "cached": d},
            "runs": [{}, {"parameters": {"ok": False}}, {}]}
