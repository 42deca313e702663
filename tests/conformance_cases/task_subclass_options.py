"""Task subclasses with options in __init__ (retries, trigger, skip flag),
copy() with overridden options, task_args at call time."""
from datetime import timedelta


def build(P, R):
    class Flaky(P.Task):
        def __init__(self, fail_times, **kwargs):
            self.fail_times = fail_times
            kwargs.setdefault("max_retries", 3)
            kwargs.setdefault("retry_delay", timedelta(0))
            super().__init__(**kwargs)

        def run(self, tag):
            n = R.incr(f"flaky_{tag}")
            if n <= self.fail_times:
                raise RuntimeError(f"{tag} attempt {n}")
            return [tag, n]

    class Cleanup(P.Task):
        def __init__(self, **kwargs):
            super().__init__(trigger=P.triggers.always_run, **kwargs)

        def run(self, x=None):
            return ["cleanup", type(x).__name__]

    class Adder(P.Task):
        def run(self, x, y=1):
            return x + y

    f = Flaky(2, name="flaky")
    never = Flaky(10, name="never", max_retries=1)
    cl = Cleanup(name="cleanup")
    add = Adder(name="adder")

    with P.Flow("task_subclass_options") as flow:
        a = f("a")
        b = never("b")
        c = cl(b)
        d = add(1)
        e = add(x=d, y=10)
        g = add.copy(name="adder_copy")(5, 5)
        h = add(2, task_args=dict(name="renamed"))
        m = add.map([1, 2], y=P.unmapped(100))

    return {"flow": flow, "tasks": {"flaky": a, "never": b, "cleanup": c, "d": d, "e": e,
                                     "copy": g, "task_args": h, "mapped": m}}
