"""Calling a task instance copies it: mutating the original after the call,
calling one instance several times, and copy(**overrides)."""


def build(P, R):
    class Scale(P.Task):
        def __init__(self, factor, **kwargs):
            self.factor = factor
            super().__init__(**kwargs)

        def run(self, x):
            return x * self.factor

    s = Scale(2, name="scale")

    with P.Flow("task_copy_semantics") as flow:
        a = s(1)
        b = s(10)
        s.factor = 100
        c = s(1000)
        d = s.copy()(5)
        m = s.map([1, 2])

    return {"flow": flow, "tasks": {"a": a, "b": b, "c": c, "copy": d, "mapped": m}}
