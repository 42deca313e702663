"""cache_validator=all_inputs: the cache is reused only for inputs seen before
(the cache holds every earlier run's entry)."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10), cache_validator=P.cache_validators.all_inputs,
            name=f"square-{R.uid}")
    def square(x):
        R.log("computed", x)
        return x * x

    with P.Flow("cache_all_inputs") as flow:
        x = P.Parameter("x", default=1)
        s = square(x)

    return {"flow": flow, "tasks": {"x": x, "square": s},
            "runs": [{}, {"parameters": {"x": 2}}, {"parameters": {"x": 1}},
                     {"parameters": {"x": 2}}, {"parameters": {"x": 3}}]}
