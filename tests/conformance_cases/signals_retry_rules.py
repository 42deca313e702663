"""Which failures retry: retry_on filters, FAIL signal retried without
retry_on, ENDRUN not retried, task_run_count inside the task."""
from datetime import timedelta


def build(P, R):
    @P.task(max_retries=2, retry_delay=timedelta(0), retry_on={ValueError})
    def wrong_type():
        R.incr("wrong_type")
        raise TypeError("te")

    @P.task(max_retries=2, retry_delay=timedelta(0), retry_on=ValueError)
    def sub_type():
        R.incr("sub_type")
        raise UnicodeError("unicode is a ValueError")

    @P.task(max_retries=2, retry_delay=timedelta(0))
    def fail_sig():
        R.incr("fail_sig")
        raise P.signals.FAIL("f")

    @P.task(max_retries=2, retry_delay=timedelta(0), retry_on={ValueError})
    def fail_sig_filtered():
        R.incr("fail_sig_filtered")
        raise P.signals.FAIL("f")

    @P.task(max_retries=2, retry_delay=timedelta(0))
    def endrun():
        R.incr("endrun")
        raise P.signals.ENDRUN(state=P.states.Failed("stop", result=1))

    @P.task(max_retries=3, retry_delay=timedelta(0))
    def counts():
        n = P.context.get("task_run_count")
        R.olog("run_counts", n)
        if n < 3:
            raise ValueError(n)
        return n

    with P.Flow("signals_retry_rules") as flow:
        a = wrong_type()
        b = sub_type()
        c = fail_sig()
        d = fail_sig_filtered()
        e = endrun()
        f = counts()

    return {"flow": flow, "tasks": {"wrong_type": a, "sub_type": b, "fail_sig": c,
                                     "fail_sig_filtered": d, "endrun": e, "counts": f}}
