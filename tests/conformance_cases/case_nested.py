"""Nested case blocks driven by two Parameters; tasks downstream of branches;
merge of nested branches; four runs cover every path."""


def build(P, R):
    @P.task
    def positive(x):
        return x > 0

    @P.task
    def big(x):
        return abs(x) > 10

    @P.task
    def label(kind, x):
        R.log("ran", kind)
        return f"{kind}:{x}"

    @P.task
    def shout(s):
        return s.upper()

    with P.Flow("case_nested") as flow:
        x = P.Parameter("x", default=5)
        pos = positive(x)
        with P.case(pos, True):
            b = big(x)
            with P.case(b, True):
                pb = label("pos_big", x)
            with P.case(b, False):
                ps = label("pos_small", x)
            pm = P.merge(pb, ps)
            loud = shout(pm)
        with P.case(pos, False):
            neg = label("neg", x)
        final = P.merge(loud, neg)

    return {"flow": flow,
            "tasks": {"pos": pos, "big": b, "pos_big": pb, "pos_small": ps, "pos_merge": pm,
                      "loud": loud, "neg": neg, "final": final},
            "runs": [{}, {"parameters": {"x": 50}}, {"parameters": {"x": -1}},
                     {"parameters": {"x": 0}}]}
