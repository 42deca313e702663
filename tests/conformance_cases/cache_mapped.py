"""cache_for on a mapped task, default validator and all_inputs, two runs."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10), name=f"dur-{R.uid}")
    def dur(x):
        R.log("dur", x)
        return x * 10

    @P.task(cache_for=timedelta(minutes=10), cache_validator=P.cache_validators.all_inputs,
            name=f"inp-{R.uid}")
    def inp(x):
        R.log("inp", x)
        return x * 100

    @P.task
    def total(xs):
        return sum(xs)

    with P.Flow("cache_mapped") as flow:
        xs = P.Parameter("xs", default=[1, 2, 3])
        d = dur.map(xs)
        i = inp.map(xs)
        t = total(d)

    return {"flow": flow, "tasks": {"dur": d, "inp": i, "total": t},
            "runs": [{}, {}, {"parameters": {"xs": [3, 2, 1, 4]}}]}
