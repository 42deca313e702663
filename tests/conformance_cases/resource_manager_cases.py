"""resource_manager: setup/cleanup called once per block, cleanup after a failed or skipped
task, the resource passed unmapped to a mapped task, a setup that fails, a cleanup that
fails, an init whose argument task fails (Prefect 1 leaves that task out of the default
reference tasks, so the flow succeeds), and blocks nested with case()."""

import importlib


def build(P, R):
    resource_manager = importlib.import_module(P.impl).resource_manager

    @resource_manager
    class Res:
        def __init__(self, n, fail="", arg=None):
            self.n, self.fail = n, fail

        def setup(self):
            R.log("calls", ["setup", self.n])
            if self.fail == "setup":
                raise ValueError("setup broke")
            return {"n": self.n}

        def cleanup(self, resource):
            R.log("calls", ["cleanup", resource])
            if self.fail == "cleanup":
                raise ValueError("cleanup broke")
            return "ignored"

    @P.task
    def use(r, x=0):
        return r["n"] + x

    @P.task
    def nums():
        return [1, 2, 3]

    @P.task
    def boom(r):
        raise ValueError("boom")

    @P.task
    def skipper(r):
        raise P.signals.SKIP("skip me")

    @P.task
    def bad_arg():
        raise ValueError("no argument")

    @P.task(trigger=P.triggers.all_finished)
    def settle(x):
        return type(x).__name__

    with P.Flow("resource_manager_cases") as flow:
        p = P.Parameter("p", default=True)
        ctx1 = Res(10)
        with ctx1 as r1:
            a = use(r1)
            m = use.map(P.unmapped(r1), nums())
        ctx2 = Res(20)
        with ctx2 as r2:
            b = boom(r2)
        b_after = settle(b)
        ctx3 = Res(30)
        with ctx3 as r3:
            s = skipper(r3)
        ctx4 = Res(40, fail="setup")
        with ctx4 as r4:
            c = settle(r4)
        ctx5 = Res(50, fail="cleanup")
        with ctx5 as r5:
            d = use(r5)
        ctx6 = Res(60, arg=bad_arg())
        with ctx6 as r6:
            h = settle(r6)
        with P.case(p, True):
            ctx7 = Res(70)
            with ctx7 as r7:
                e = use(r7, 1)
        ctx8 = Res(80)
        with ctx8 as r8:
            with P.case(p, False):
                f = use(r8, 2)
            g = use(r8, 3)

    tasks = {"a": a, "m": m, "b": b, "b_after": b_after, "s": s, "c": c, "d": d, "h": h,
             "e": e, "f": f, "g": g}
    for i, ctx in enumerate([ctx1, ctx2, ctx3, ctx4, ctx5, ctx6, ctx7, ctx8], 1):
        tasks[f"setup{i}"] = ctx.setup_task
        tasks[f"cleanup{i}"] = ctx.cleanup_task
        tasks[f"init{i}"] = ctx.init_task
    # When init and setup both did not succeed, Prefect 1's cleanup says "init ..." or
    # "setup ..." depending on edge order (it varied between recordings): states only.
    return {"flow": flow, "tasks": tasks, "loose": ["cleanup6", "cleanup7"],
            "runs": [{}, {"parameters": {"p": False}}]}
