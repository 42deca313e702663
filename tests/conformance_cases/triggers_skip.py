"""Triggers meeting Skipped upstreams, with and without skip_on_upstream_skip."""


def build(P, R):
    @P.task
    def skip():
        raise P.signals.SKIP("s")

    @P.task
    def good():
        return 1

    @P.task
    def bad():
        raise ValueError("bad")

    T = P.triggers

    def mk(name, trigger, sous):
        return P.task(lambda a, b: "ran", name=name, trigger=trigger, skip_on_upstream_skip=sous)

    tasks = {}
    with P.Flow("triggers_skip") as flow:
        s1, s2, g, b = skip(), skip(), good(), bad()
        for tname in ("all_successful", "not_all_skipped", "all_finished", "any_failed",
                      "all_failed", "any_successful"):
            tr = getattr(T, tname)
            tasks[f"ss_{tname}"] = mk(f"ss_{tname}", tr, False)(s1, s2)
            tasks[f"sg_{tname}"] = mk(f"sg_{tname}", tr, False)(s1, g)
            tasks[f"sb_{tname}"] = mk(f"sb_{tname}", tr, False)(s1, b)
            tasks[f"default_ss_{tname}"] = mk(f"default_ss_{tname}", tr, True)(s1, g)
    return {"flow": flow, "tasks": tasks}
