"""Every built-in trigger over a (success, failure) pair and a (success, success)
pair; plus some_successful/some_failed thresholds and a custom trigger."""


def build(P, R):
    @P.task
    def good():
        return 1

    @P.task
    def bad():
        raise ValueError("bad")

    T = P.triggers
    trig = {
        "all_successful": T.all_successful, "all_failed": T.all_failed,
        "any_successful": T.any_successful, "any_failed": T.any_failed,
        "all_finished": T.all_finished, "always_run": T.always_run,
        "not_all_skipped": T.not_all_skipped,
        "some_successful_1": T.some_successful(at_least=1),
        "some_successful_2": T.some_successful(at_least=2),
        "some_failed_half": T.some_failed(at_least=0.5),
        "some_failed_at_most_0": T.some_failed(at_most=0),
    }

    def custom(upstream_states):
        return sorted(type(s).__name__ for s in upstream_states.values()) == ["Failed", "Success"]

    trig["custom"] = custom

    tasks = {}
    with P.Flow("triggers_all") as flow:
        g1 = good()
        g2 = good()
        b1 = bad()
        for name, tr in trig.items():
            t = P.task(lambda a, b: "ran", name=f"mixed_{name}", trigger=tr)
            tasks[f"mixed_{name}"] = t(g1, b1)
            t2 = P.task(lambda a, b: "ran", name=f"good_{name}", trigger=tr)
            tasks[f"good_{name}"] = t2(g1, g2)
    tasks["good"] = g1
    tasks["bad"] = b1
    return {"flow": flow, "tasks": tasks}
