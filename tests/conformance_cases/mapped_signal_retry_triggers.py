"""Signals with result= in mapped children that have max_retries, retry_delay 0 and a
handler, read by mapped and reduce triggers (any_failed, all_finished with
skip_on_upstream_skip=False, some_successful(at_least, at_most), some_failed,
not_all_skipped); a mapped chain over partly failed and skipped children with
skip_on_upstream_skip=False, any_failed, all_failed and always_run at each level."""
import datetime


def show(v):
    return type(v).__name__ if isinstance(v, BaseException) else v


def build(P, R):
    def h(task, old, new):
        res = getattr(new, "result", None)
        R.log("h", [P.context.get("map_index"), type(old).__name__, type(new).__name__,
                    type(res).__name__ if isinstance(res, BaseException) else repr(res)])
        return new

    @P.task(max_retries=2, retry_delay=datetime.timedelta(0), state_handlers=[h])
    def sig(kind):
        n = R.incr("n-" + kind)
        if kind == "fail_res":
            raise P.signals.FAIL("f", result="fres")
        if kind == "retry_res":
            if n == 1:
                raise P.signals.RETRY("r", result="rres")
            return "after-retry"
        if kind == "skip_res":
            raise P.signals.SKIP("s", result="sres")
        if kind == "succ_res":
            raise P.signals.SUCCESS("ok", result="sucres")
        if kind == "endrun_fail":
            raise P.signals.ENDRUN(state=P.states.Failed("ef", result="efres"))
        if kind == "raise_then_ok":
            if n < 3:
                raise ValueError("boom")
            return "third"
        if kind == "always":
            raise ValueError("always")
        return kind

    def reducer(name, trigger, **kw):
        @P.task(name=name, trigger=trigger, **kw)
        def red(xs):
            return [show(x) for x in xs]
        return red

    @P.task(trigger=P.triggers.any_failed)
    def anyf(x):
        return ["af", show(x)]

    @P.task(trigger=P.triggers.all_failed)
    def allfail(x):
        return "allfail"

    @P.task(trigger=P.triggers.always_run)
    def always(x):
        return "always"

    @P.task(trigger=P.triggers.all_finished, skip_on_upstream_skip=False)
    def fin(x):
        return ["fin", show(x)]

    @P.task
    def src(x):
        if x == 1:
            raise ValueError("one")
        if x == 2:
            raise P.signals.SKIP("two")
        return x

    @P.task(skip_on_upstream_skip=False)
    def noskip(x):
        return ["ns", None if x is None else show(x)]

    @P.task
    def plain(x):
        return ["p", x]

    kinds = ["plain", "fail_res", "retry_res", "skip_res", "succ_res", "endrun_fail",
             "raise_then_ok", "always"]
    t = {}
    with P.Flow("mapped_signal_retry_triggers") as flow:
        s = sig.map(kinds)
        t.update(sig=s, af=anyf.map(s), fin=fin.map(s),
                 ss=reducer("ss", P.triggers.some_successful(at_least=2, at_most=4),
                              skip_on_upstream_skip=False)(s),
                 ss2=reducer("ss2", P.triggers.some_successful(at_least=1, at_most=6),
                               skip_on_upstream_skip=False)(s),
                 sf=reducer("sf", P.triggers.some_failed(at_least=2),
                              skip_on_upstream_skip=False)(s),
                 nas=reducer("nas", P.triggers.not_all_skipped, skip_on_upstream_skip=False)(s),
                 allf=reducer("allf", P.triggers.all_finished)(s))
        c = src.map([0, 1, 2, 3])
        n1 = noskip.map(c)
        n2 = fin.map(c)
        p1 = plain.map(n1)
        p2 = plain.map(n2)
        a1 = anyf.map(c)
        al = always.map(c)
        al2 = plain.map(al)
        t.update(src=c, n1=n1, n2=n2, p1=p1, p2=p2, a1=a1, a2=anyf.map(p1),
                 allfail=allfail.map(c), al=al, al2=al2,
                 r1=reducer("r1", P.triggers.some_successful(at_least=1))(p2),
                 r2=reducer("r2", P.triggers.all_finished, skip_on_upstream_skip=False)(c),
                 r3=reducer("r3", P.triggers.all_successful)(al2),
                 r4=reducer("r4", P.triggers.some_successful(at_least=1),
                            skip_on_upstream_skip=False)(a1))
    return {"flow": flow, "tasks": t}
