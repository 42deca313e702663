"""nout and GetItem: indexing a mapped result, a failed upstream behind GetItem,
indexing with negative and slice-like keys, unpacking into map."""


def build(P, R):
    @P.task(nout=2)
    def split(x):
        return x, -x

    @P.task
    def listy():
        return [10, 20, 30]

    @P.task
    def bad():
        raise KeyError("nope")

    @P.task
    def inc(x):
        return x + 1

    @P.task
    def ident(x):
        return x

    with P.Flow("nout_getitem") as flow:
        m = inc.map([1, 2, 3])
        first = m[0]
        last = listy()[-1]
        bad_item = bad()["k"]
        pos, neg = split(4)
        mp = inc.map(listy())
        mp_item = mp[2]
        d = ident({"a": [1, 2]})
        nested = d["a"][1]
        neg_inc = inc(neg)

    return {"flow": flow, "tasks": {"first": first, "last": last, "bad_item": bad_item,
                                     "pos": pos, "neg": neg, "mp_item": mp_item,
                                     "nested": nested, "neg_inc": neg_inc}}
