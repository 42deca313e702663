"""A cached task that fails in the first run (not cached), then succeeds
(cached), then is reused; a cached task with max_retries; a SKIP is not cached."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10), name=f"sometimes-{R.uid}")
    def sometimes(ok):
        R.incr("sometimes")
        if not ok:
            raise ValueError("not ok")
        return "fine"

    @P.task(cache_for=timedelta(minutes=10), max_retries=1, retry_delay=timedelta(0),
            name=f"retried-{R.uid}")
    def retried():
        n = R.incr("retried")
        if n == 1:
            raise ValueError("first attempt")
        return n

    @P.task(cache_for=timedelta(minutes=10), name=f"skipper-{R.uid}")
    def skipper():
        R.incr("skipper")
        raise P.signals.SKIP("skip")

    with P.Flow("cache_failure_runs") as flow:
        ok = P.Parameter("ok", default=False)
        s = sometimes(ok)
        r = retried()
        k = skipper()

    return {"flow": flow, "tasks": {"sometimes": s, "retried": r, "skipper": k},
            "runs": [{}, {"parameters": {"ok": True}}, {"parameters": {"ok": False}}]}
