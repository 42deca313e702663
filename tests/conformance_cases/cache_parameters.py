"""all_parameters and partial_parameters_only validators across runs."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10), cache_validator=P.cache_validators.all_parameters,
            name=f"allp-{R.uid}")
    def allp(a):
        R.incr("allp")
        return ["allp", a]

    @P.task(cache_for=timedelta(minutes=10),
            cache_validator=P.cache_validators.partial_parameters_only(validate_on=["a"]),
            name=f"partp-{R.uid}")
    def partp(b):
        R.incr("partp")
        return ["partp", b]

    with P.Flow("cache_parameters") as flow:
        a = P.Parameter("a", default=1)
        b = P.Parameter("b", default="x")
        t1 = allp(a)
        t2 = partp(b)

    return {"flow": flow, "tasks": {"allp": t1, "partp": t2},
            "runs": [{}, {}, {"parameters": {"b": "y"}}, {"parameters": {"a": 2}},
                     {"parameters": {"a": 1, "b": "x"}}]}
