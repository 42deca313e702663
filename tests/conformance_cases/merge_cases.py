"""merge: both branches skipped, a branch that failed, a branch returning None,
and merge of three branches."""


def build(P, R):
    @P.task
    def val(v):
        return v

    @P.task
    def none():
        return None

    @P.task
    def bad():
        raise ValueError("bad branch")

    @P.task
    def after(x):
        return ["after", x]

    with P.Flow("merge_cases") as flow:
        sel = P.Parameter("sel", default="a")
        c = val(sel)
        with P.case(c, "a"):
            a = val("A")
            an = none()
        with P.case(c, "b"):
            b = val("B")
            bb = bad()
        with P.case(c, "zzz"):
            z = val("Z")
        m3 = P.merge(a, b, z)
        m_none = P.merge(an, b)
        m_bad = P.merge(bb, a)
        m_skip = P.merge(z, z)
        d = after(m_skip)

    return {"flow": flow, "tasks": {"m3": m3, "m_none": m_none, "m_bad": m_bad,
                                     "m_skip": m_skip, "after_skip": d, "bad": bb},
            "runs": [{}, {"parameters": {"sel": "b"}}, {"parameters": {"sel": "q"}}]}
