"""Two different tasks share cache_key; branches chosen by a Parameter so the
first run caches one task and the second run looks up the other."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10), cache_key=f"shared-{R.uid}")
    def load_a():
        R.incr("a")
        return "from-a"

    @P.task(cache_for=timedelta(minutes=10), cache_key=f"shared-{R.uid}")
    def load_b():
        R.incr("b")
        return "from-b"

    @P.task
    def which(flag):
        return flag

    with P.Flow("cache_shared_key") as flow:
        flag = P.Parameter("flag", default="a")
        w = which(flag)
        with P.case(w, "a"):
            a = load_a()
        with P.case(w, "b"):
            b = load_b()
        m = P.merge(a, b)

    return {"flow": flow, "tasks": {"a": a, "b": b, "merge": m},
            "runs": [{}, {"parameters": {"flag": "b"}}, {"parameters": {"flag": "a"}}]}
