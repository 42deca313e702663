"""switch (a match, no match, keys 0 and False), ifelse on falsy values and on a failed
condition, case on None / "" / 0 / False / [] values, merge of skipped branches, apply_map
over an ifelse/merge, and FilterTask over mapped results with a failure, a SKIP signal
(kept by the default filter: signals are not Exceptions), a None and a TriggerFailed
child; a custom filter_func, a log_func, and a map over the filtered list."""

import importlib


def build(P, R):
    cf = importlib.import_module(f"{P.impl}.tasks.control_flow")

    @P.task
    def val(v):
        return v

    @P.task
    def bad():
        raise ValueError("cond broke")

    @P.task
    def nums():
        return [0, 1, 2, 3, 4, 5]

    @P.task
    def work(x):
        if x == 2:
            raise ValueError("two")
        if x == 3:
            raise P.signals.SKIP("three")
        if x == 4:
            return None
        return x * 10

    @P.task
    def dbl(x):
        return x * 2

    @P.task
    def neg(x):
        return -x

    @P.task
    def is_even(x):
        return x % 2 == 0

    @P.task(trigger=P.triggers.all_finished)
    def settle(x):
        return type(x).__name__

    def branch(x):
        a, b = dbl(x), neg(x)
        cf.ifelse(is_even(x), a, b)
        return P.merge(a, b)

    with P.Flow("control_flow_switch_filter") as flow:
        sel = P.Parameter("sel", default="b")
        cond = P.Parameter("cond", default=0)
        a, b, c = val("A"), val("B"), val("C")
        cf.switch(sel, {"a": a, "b": b, "c": c})
        m_switch = P.merge(a, b, c)
        t, f = val("T"), val("F")
        cf.ifelse(cond, t, f)
        m_ifelse = P.merge(t, f)
        c1, c2 = val("C1"), val("C2")
        cf.ifelse(bad(), c1, c2)
        m_bad = P.merge(c1, c2)
        m_bad_settled = settle(m_bad)
        z_false, z_zero = val("false"), val("zero")
        cf.switch(val(0), {False: z_false, 0: z_zero})
        with P.case(cond, None):
            c_none = val("none")
        with P.case(cond, ""):
            c_empty = val("empty")
        with P.case(cond, 0):
            c_zero = val("zero")
        with P.case(cond, False):
            c_false = val("false")
        with P.case(val([]), []):
            c_list = val("empty list")
        m_cases = P.merge(c_none, c_empty, c_list)
        per = P.apply_map(branch, [1, 2, 3])
        w = work.map(nums())
        w_down = dbl.map(w)
        kept = cf.FilterTask()(w)
        kept_down = settle.map(kept)
        big = cf.FilterTask(filter_func=lambda r: isinstance(r, int) and r > 5)(w)
        logged = cf.FilterTask(log_func=lambda k: f"kept {len(k)}")(w_down)

    return {"flow": flow,
            "tasks": {"a": a, "b": b, "c": c, "m_switch": m_switch, "t": t, "f": f,
                      "m_ifelse": m_ifelse, "c1": c1, "c2": c2, "m_bad": m_bad,
                      "m_bad_settled": m_bad_settled, "z_false": z_false, "z_zero": z_zero,
                      "c_none": c_none, "c_empty": c_empty, "c_zero": c_zero,
                      "c_false": c_false, "c_list": c_list, "m_cases": m_cases, "per": per,
                      "w": w, "w_down": w_down, "kept": kept, "kept_down": kept_down,
                      "big": big, "logged": logged},
            "runs": [{}, {"parameters": {"sel": "zz", "cond": None}},
                     {"parameters": {"sel": "a", "cond": ""}},
                     {"parameters": {"cond": False}}]}
