"""cache_for=8s: a run more than 8s later recomputes."""
import time
from datetime import timedelta


def build(P, R):
    @P.task
    def wait(secs):
        time.sleep(secs)
        return secs

    @P.task(cache_for=timedelta(seconds=8), name=f"short-{R.uid}")
    def short():
        return R.incr("short")

    with P.Flow("cache_expiry") as flow:
        secs = P.Parameter("secs", default=0)
        w = wait(secs)
        s = short(upstream_tasks=[w])

    return {"flow": flow, "tasks": {"short": s},
            "runs": [{}, {}, {"parameters": {"secs": 9}}]}
