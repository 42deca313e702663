"""Two task objects with the same name (no cache_key) in one flow, in
different branches: the cache is keyed by task name."""
from datetime import timedelta


def build(P, R):
    name = f"loader-{R.uid}"

    @P.task(cache_for=timedelta(minutes=10), name=name)
    def load_one(v):
        R.incr("one")
        return ["one", v]

    @P.task(cache_for=timedelta(minutes=10), name=name)
    def load_two(v):
        R.incr("two")
        return ["two", v]

    @P.task
    def is_one(flag):
        return flag == 1

    with P.Flow("cache_same_name") as flow:
        flag = P.Parameter("flag", default=1)
        c = is_one(flag)
        with P.case(c, True):
            one = load_one(flag)
        with P.case(c, False):
            two = load_two(flag)

    return {"flow": flow, "tasks": {"one": one, "two": two},
            "runs": [{}, {"parameters": {"flag": 2}}]}
