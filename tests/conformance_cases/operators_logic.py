"""Task operators as Prefect 1 defines them: & is a logical and, | orders two tasks (no
data), reflected arithmetic, or_, not_, pipe."""


def build(P, R):
    @P.task
    def six():
        R.olog("order", "six")
        return 6

    @P.task
    def three():
        return 3

    @P.task
    def zero():
        return 0

    @P.task
    def after():
        R.olog("order", "after")
        return "after"

    @P.task
    def add(x, y=10):
        return x + y

    with P.Flow("operators_logic") as flow:
        a, b, z = six(), three(), zero()
        both = a & b
        rboth = 2 & a
        zboth = z & a
        either = a.or_(b)
        zeither = z.or_(b)
        rdiv = 12 / a
        rfloor = 7 // b
        rmod = 7 % b
        rpow = 2 ** b
        neg = z.not_()
        piped = b.pipe(add, y=1)
        later = after()
        ordered = a | later
    return {
        "flow": flow,
        "tasks": {"both": both, "rboth": rboth, "zboth": zboth, "either": either,
                  "zeither": zeither, "rdiv": rdiv, "rfloor": rfloor, "rmod": rmod,
                  "rpow": rpow, "neg": neg, "piped": piped, "ordered": ordered},
    }
