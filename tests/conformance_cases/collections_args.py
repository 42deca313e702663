"""Lists, tuples, dicts and sets of tasks passed as arguments (Prefect 1 wraps
them in List/Tuple/Dict/Set tasks), including a failed and a skipped element."""


def build(P, R):
    @P.task
    def val(x):
        return x

    @P.task
    def bad():
        raise ValueError("element failed")

    @P.task
    def skip():
        raise P.signals.SKIP("element skipped")

    @P.task
    def show(x):
        return x

    @P.task
    def typed(x):
        return [type(x).__name__, sorted(x) if isinstance(x, set) else x]

    with P.Flow("collections_args") as flow:
        a, b = val(1), val(2)
        lst = show([a, b, 3])
        tup = typed((a, b))
        dct = show({"a": a, "nested": [b, {"k": a}]})
        st = typed({a, b})
        with_bad = show([a, bad()])
        with_skip = show([a, skip()])
        mapped_over_list = val.map([a, b])

    return {"flow": flow, "tasks": {"list": lst, "tuple": tup, "dict": dct, "set": st,
                                     "with_bad": with_bad, "with_skip": with_skip,
                                     "mapped_over_list": mapped_over_list}}
