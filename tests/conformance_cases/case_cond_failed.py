"""case() whose condition task fails or is skipped, and a case on a Parameter."""


def build(P, R):
    @P.task
    def cond(mode):
        if mode == "fail":
            raise ValueError("cond failed")
        if mode == "skip":
            raise P.signals.SKIP("cond skipped")
        return mode == "yes"

    @P.task
    def branch(x):
        return x

    @P.task(trigger=P.triggers.always_run)
    def cleanup(x):
        return "cleanup"

    with P.Flow("case_cond_failed") as flow:
        mode = P.Parameter("mode", default="yes")
        c = cond(mode)
        with P.case(c, True):
            yes = branch("yes")
        with P.case(c, False):
            no = branch("no")
        m = P.merge(yes, no)
        with P.case(mode, "yes"):
            direct = branch("direct")
        cl = cleanup(m)

    return {"flow": flow, "tasks": {"cond": c, "yes": yes, "no": no, "merge": m,
                                     "direct": direct, "cleanup": cl},
            "runs": [{}, {"parameters": {"mode": "no"}}, {"parameters": {"mode": "fail"}},
                     {"parameters": {"mode": "skip"}}]}
