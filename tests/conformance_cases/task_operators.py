"""Task operators build tasks: arithmetic, comparisons, indexing, used as a
case condition."""


def build(P, R):
    @P.task
    def num(x):
        return x

    @P.task
    def say(s):
        return s

    with P.Flow("task_operators") as flow:
        x = P.Parameter("x", default=4)
        a = num(x)
        b = num(3)
        add = a + b
        sub = a - 1
        mul = 2 * a
        div = a / b
        fdiv = a // b
        mod = a % b
        pw = a ** 2
        gt = a > b
        le = a <= 3
        with P.case(gt, True):
            big = say("big")
        with P.case(gt, False):
            small = say("small")
        m = P.merge(big, small)

    return {"flow": flow, "tasks": {"add": add, "sub": sub, "mul": mul, "div": div,
                                     "fdiv": fdiv, "mod": mod, "pow": pw, "gt": gt, "le": le,
                                     "merge": m},
            "runs": [{}, {"parameters": {"x": 1}}]}
