"""Mapping over a failed or skipped upstream, a mapped task after a failed
mapped parent, and unmapped failed inputs."""


def build(P, R):
    @P.task
    def bad():
        raise ValueError("no list")

    @P.task
    def skip():
        raise P.signals.SKIP("no list today")

    @P.task
    def five():
        return 5

    @P.task
    def inc(x):
        return x + 1

    @P.task
    def add(x, y):
        return x + y

    @P.task(trigger=P.triggers.all_finished)
    def finish(xs):
        return ["finish", type(xs).__name__]

    with P.Flow("map_upstream_failed") as flow:
        m_bad = inc.map(bad())
        m_skip = inc.map(skip())
        after_bad = inc.map(m_bad)
        n = inc.map(five())
        after_n = inc.map(n)
        fin_n = finish(n)
        un = add.map([1, 2], P.unmapped(bad()))
        fin_bad = finish(m_bad)

    return {"flow": flow, "tasks": {"map_failed": m_bad, "map_skipped": m_skip,
                                     "after_failed_map": after_bad, "non_iterable": n,
                                     "after_non_iterable": after_n, "finish_non_iterable": fin_n,
                                     "unmapped_failed": un, "finish_failed_map": fin_bad},
            "loose": ["non_iterable", "finish_non_iterable"]}
