"""Signals raised inside mapped children: ENDRUN, RETRY once, SKIP with result,
SUCCESS with result, FAIL; a reduce with skip_on_upstream_skip=False."""


def build(P, R):
    @P.task
    def sig(kind):
        if kind == "endrun":
            raise P.signals.ENDRUN(state=P.states.Success(result="ended"))
        if kind == "retry":
            if R.incr("retry") == 1:
                raise P.signals.RETRY("again")
            return "retried"
        if kind == "skip":
            raise P.signals.SKIP("skipped", result="skip-result")
        if kind == "success":
            raise P.signals.SUCCESS("early", result="early")
        if kind == "fail":
            raise P.signals.FAIL("failed")
        return kind

    @P.task(trigger=P.triggers.all_finished, skip_on_upstream_skip=False)
    def reduce(xs):
        return [x if not isinstance(x, BaseException) else type(x).__name__ for x in xs]

    @P.task
    def tag(x):
        return f"<{x}>"

    with P.Flow("mapped_signals") as flow:
        s = sig.map(["plain", "endrun", "retry", "skip", "success", "fail"])
        r = reduce(s)
        t = tag.map(s)

    return {"flow": flow, "tasks": {"sig": s, "reduce": r, "tag": t}}
