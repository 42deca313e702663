"""State handlers that fail, raise signals or replace states, on plain tasks, mapped
parents and mapped children with max_retries: a handler that raises ends the run (no
retry), one raising FAIL is retried, one replacing Retrying ends the run in its state, a
parent handler failing Pending -> Mapped creates no children, also in the middle of a
mapped chain whose width is known only once an upstream ran."""
import datetime


def build(P, R):
    def h(task, old, new):
        key = task.name + ("" if P.context.get("map_index") is None
                           else str(P.context.get("map_index")))
        R.log("h", [key, type(old).__name__, type(new).__name__])
        mode = task.name.split("_")[0]
        if mode == "raiseok" and isinstance(new, P.states.Success):
            raise ValueError("handler broke")
        if mode == "raisefail" and isinstance(new, P.states.Failed):
            raise KeyError("handler broke on failure")
        if mode == "raiserun" and isinstance(new, P.states.Running) and new.is_running():
            raise RuntimeError("no start")
        if mode == "sigfail" and isinstance(new, P.states.Success):
            raise P.signals.FAIL("handler fail signal")
        if mode == "noretry" and isinstance(new, P.states.Retrying):
            return P.states.Failed("no retry", result="nr")
        if mode == "okretry" and isinstance(new, P.states.Retrying):
            return P.states.Success("retry turned ok", result="ok")
        if mode == "raiseretry" and isinstance(new, P.states.Retrying):
            raise ValueError("retry handler broke")
        return new

    def mk(name, fails):
        @P.task(name=name, max_retries=2, retry_delay=datetime.timedelta(0), state_handlers=[h])
        def t(x):
            R.incr(f"{name}-{x}")
            if fails and x != 0:
                raise ValueError(f"{name} fails")
            return x
        return t

    def child_h(task, old, new):   # acts on the children only, never on the parent
        i = P.context.get("map_index")
        R.log("child_h", [i, type(old).__name__, type(new).__name__])
        if i == 0 and isinstance(new, P.states.Success):
            raise ValueError("handler broke")
        if i == 1 and isinstance(new, P.states.Success):
            raise P.signals.SKIP("handler skip")
        if i == 2 and isinstance(new, P.states.Retrying):
            return P.states.Failed("no retry", result="nr")
        return new

    @P.task(max_retries=2, retry_delay=datetime.timedelta(0), state_handlers=[child_h])
    def child(x):
        R.incr(f"child{x}")
        if x == 2:
            raise ValueError("two")
        if x == 3:
            raise P.signals.ENDRUN(state=P.states.Skipped("endskip", result="es"))
        return x

    def parent_h(task, old, new):
        R.log("parent_h", [type(old).__name__, type(new).__name__, P.context.get("map_index")])
        if isinstance(new, P.states.Mapped):
            return P.states.Failed("parent handler failed it")
        return new

    @P.task(state_handlers=[parent_h])
    def hp(x):
        R.incr(f"hp{x}")
        return x

    def fail_bad(task, old, new):
        R.log("fail_bad", [task.name, P.context.get("map_index"), type(new).__name__])
        if isinstance(new, P.states.Mapped) and task.name == "bad_mid":
            return P.states.Failed("no", result="parent-no")
        return new

    @P.task
    def upto(n):
        return list(range(n))

    @P.task(name="bad_mid", state_handlers=[fail_bad])
    def bad_mid(x):
        R.incr("bad_mid")
        return x

    @P.task(name="ok_mid", state_handlers=[fail_bad])
    def ok_mid(x):
        R.incr("ok_mid")
        return x + 1

    @P.task(trigger=P.triggers.all_finished, skip_on_upstream_skip=False)
    def leaf_fin(x):
        return str(x)

    @P.task
    def down(x):
        return x

    @P.task(trigger=P.triggers.all_finished)
    def red(xs):
        return [type(x).__name__ if isinstance(x, BaseException) else x for x in xs]

    specs = [("raiseok", False), ("raisefail", True), ("raiserun", False), ("sigfail", False),
             ("noretry", True), ("okretry", True), ("raiseretry", True)]
    tasks = {}
    with P.Flow("handler_failures_mapped") as flow:
        for name, fails in specs:
            mapped = mk(name + "_mapped", fails).map([0, 1])
            tasks[name + "_single"] = mk(name + "_single", fails)(1)
            tasks[name + "_mapped"] = mapped
            tasks[name + "_down"] = down.map(mapped)
            tasks[name + "_red"] = red(mapped)
        c = child.map([0, 1, 2, 3, 4])
        tasks.update(child=c, child_down=down.map(c), child_red=red(c))
        p = hp.map([1, 2])
        tasks.update(hp=p, hp_down=down.map(p), hp_red=red(p))
        xs = upto(3)
        b = bad_mid.map(xs)
        o = ok_mid.map(xs)
        lo = down.map(o)
        b2 = bad_mid.map(lo)
        b3 = bad_mid.map(ok_mid.map([1, 2]))
        tasks.update(chain_b=b, chain_lb=down.map(b), chain_lf=leaf_fin.map(b), chain_o=o,
                     chain_lo=lo, chain_b2=b2, chain_l2=down.map(b2), chain_b3=b3,
                     chain_r=red(b3))
    return {"flow": flow, "tasks": tasks}
