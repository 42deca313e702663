"""Mapped failures: per-child retries, a child failing after retries, a downstream
map TriggerFailed per child, all_finished reduce, and a SKIP child."""
from datetime import timedelta


def build(P, R):
    @P.task(max_retries=2, retry_delay=timedelta(0))
    def flaky(x):
        n = R.incr(f"flaky_{x}")
        R.log("attempt", [x, n, P.context.get("task_run_count"), P.context.get("map_index")])
        if x == 1 and n < 3:
            raise ValueError(f"x=1 attempt {n}")
        if x == 2:
            raise ValueError("x=2 always")
        return x * 10

    @P.task
    def inc(x):
        return x + 1

    @P.task(trigger=P.triggers.all_finished)
    def gather(xs):
        return [x if not isinstance(x, BaseException) else type(x).__name__ for x in xs]

    @P.task
    def strict(xs):
        return xs

    @P.task
    def skip_odd(x):
        if x % 2:
            raise P.signals.SKIP(f"odd {x}")
        return x

    with P.Flow("map_failures") as flow:
        f = flaky.map([0, 1, 2, 3])
        i = inc.map(f)
        g = gather(i)
        s = strict(f)
        so = skip_odd.map([1, 2, 3, 4])
        so2 = inc.map(so)
        sred = strict(so)

    return {"flow": flow, "tasks": {"flaky": f, "inc": i, "gather": g, "strict": s,
                                     "skip_odd": so, "after_skip": so2, "skip_reduce": sred}}
