"""A mapped child retried after a delay while its siblings and their downstream
children finish; the downstream child of the retried one waits for it."""
from datetime import timedelta


def build(P, R):
    @P.task(max_retries=1, retry_delay=timedelta(seconds=1))
    def first(x):
        if x == 1 and R.incr("first_1") == 1:
            raise ValueError("transient")
        return x

    @P.task
    def second(x):
        R.log("second", x)
        return x * 2

    @P.task
    def total(xs):
        return sum(xs)

    with P.Flow("mapped_retry_delay") as flow:
        a = first.map([0, 1, 2])
        b = second.map(a)
        t = total(b)

    return {"flow": flow, "tasks": {"first": a, "second": b, "total": t}}
