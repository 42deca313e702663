"""SKIP / SUCCESS / ENDRUN / RETRY / FAIL signals raised by tasks and what
downstream tasks (default and all_finished) see."""


def build(P, R):
    @P.task
    def skip_plain():
        raise P.signals.SKIP("skip plain")

    @P.task
    def skip_result():
        raise P.signals.SKIP("skip with result", result=7)

    @P.task
    def success_sig():
        raise P.signals.SUCCESS("early success", result=5)

    @P.task
    def endrun_success():
        raise P.signals.ENDRUN(state=P.states.Success(result=3))

    @P.task
    def endrun_failed():
        raise P.signals.ENDRUN(state=P.states.Failed("ef", result=9))

    @P.task
    def retry_once():
        n = R.incr("retry_once")
        if n == 1:
            raise P.signals.RETRY("try again")
        return n

    @P.task
    def fail_sig():
        raise P.signals.FAIL("failsig")

    @P.task
    def down(x):
        return ["down", x]

    @P.task(trigger=P.triggers.all_finished, skip_on_upstream_skip=False)
    def seen(x):
        return ["seen", x if not isinstance(x, BaseException) else type(x).__name__]

    with P.Flow("signals_mix") as flow:
        sp = skip_plain()
        sr = skip_result()
        ss = success_sig()
        es = endrun_success()
        ef = endrun_failed()
        ro = retry_once()
        fs = fail_sig()
        d_sp = down(sp)
        d_ss = down(ss)
        d_es = down(es)
        d_ro = down(ro)
        s_sp = seen(sp)
        s_sr = seen(sr)
        s_ef = seen(ef)
        s_fs = seen(fs)

    return {"flow": flow, "tasks": {
        "skip_plain": sp, "skip_result": sr, "success_sig": ss, "endrun_success": es,
        "endrun_failed": ef, "retry_once": ro, "fail_sig": fs, "down_skip": d_sp,
        "down_success": d_ss, "down_endrun": d_es, "down_retry": d_ro, "seen_skip": s_sp,
        "seen_skip_result": s_sr, "seen_endrun_failed": s_ef, "seen_fail": s_fs}}
