"""partial_inputs_only(validate_on=["x"]): only input x invalidates the cache;
never_use always recomputes but still ends Cached."""
from datetime import timedelta


def build(P, R):
    @P.task(cache_for=timedelta(minutes=10),
            cache_validator=P.cache_validators.partial_inputs_only(validate_on=["x"]),
            name=f"part-{R.uid}")
    def part(x, y):
        R.incr("part")
        return [x, y]

    @P.task(cache_for=timedelta(minutes=10), cache_validator=P.cache_validators.never_use,
            name=f"never-{R.uid}")
    def never(x):
        R.incr("never")
        return x + 100

    with P.Flow("cache_partial_inputs") as flow:
        x = P.Parameter("x", default=1)
        y = P.Parameter("y", default=1)
        p = part(x, y)
        n = never(x)

    return {"flow": flow, "tasks": {"part": p, "never": n},
            "runs": [{}, {"parameters": {"y": 5}}, {"parameters": {"x": 2, "y": 5}},
                     {"parameters": {"x": 1, "y": 9}}]}
