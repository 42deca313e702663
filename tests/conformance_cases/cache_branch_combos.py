"""Caching inside case branches and apply_map across runs with Parameters overridden (also as
a flow.run keyword): cache_for with the default validator and a state handler, all_parameters
on a branch task and inside apply_map's case+merge, a cache_key shared by the two branches, a
cached mapped task with retries that fails once in one child, LOOP and case in apply_map over
a flattened constant with an unmapped Parameter, case on a mapped condition."""
from datetime import timedelta


def build(P, R):
    @P.task
    def is_pos(x):
        return x > 0

    def pos_handler(t, old, new):
        R.olog("pos_handler", [type(old).__name__, type(new).__name__])
        return new

    @P.task(cache_for=timedelta(minutes=10), name=f"pos-{R.uid}", state_handlers=[pos_handler])
    def pos(x):
        R.log("pos", x)
        return x * 2

    @P.task(cache_for=timedelta(minutes=10), cache_validator=P.cache_validators.all_parameters,
            name=f"neg-{R.uid}")
    def neg(x):
        R.log("neg", x)
        return -x

    @P.task(cache_for=timedelta(minutes=10), cache_validator=P.cache_validators.all_inputs,
            name=f"el-{R.uid}")
    def el(x):
        R.log("el", x)
        return x + 1000

    @P.task(cache_for=timedelta(minutes=10), cache_key=f"k-{R.uid}", name=f"ka-{R.uid}")
    def ka(x):
        R.log("ka", x)
        return ("ka", x)

    @P.task(cache_for=timedelta(minutes=10), cache_key=f"k-{R.uid}", name=f"kb-{R.uid}")
    def kb(x):
        R.log("kb", x)
        return ("kb", x)

    @P.task
    def even(x):
        return x % 2 == 0

    def cf_handler(t, old, new):
        R.log("cf_handler", [type(new).__name__, P.context.get("map_index"),
                             P.context.get("task_run_count")])
        return new

    @P.task(cache_for=timedelta(minutes=5), cache_validator=P.cache_validators.all_inputs,
            name=f"cf-{R.uid}", max_retries=1, retry_delay=timedelta(0),
            state_handlers=[cf_handler])
    def cf(x, bad):
        R.log("cf", [x, P.context.get("task_run_count")])
        if x == bad and P.context.get("task_run_count") == 1:
            raise ValueError("bad")
        return x * 7

    @P.task
    def looped(n):
        i = P.context.get("task_loop_count", 1)
        if i < n:
            raise P.signals.LOOP(result=i)
        return [i, P.context.get("map_index")]

    @P.task
    def is_big(x):
        return x > 1

    @P.task
    def evens(xs):
        return [x % 2 == 0 for x in xs]

    @P.task
    def double(x):
        return 2 * x

    @P.task(trigger=P.triggers.all_finished)
    def show(xs):
        return [x if not isinstance(x, BaseException) else type(x).__name__ for x in xs]

    def per_item(x):
        c = even(x)
        with P.case(c, True):
            a = el(x)
        with P.case(c, False):
            b = neg(x)
        return P.merge(a, b)

    def loop_or_cache(n, bad):
        c = is_big(n)
        with P.case(c, True):
            l = looped(n)
        with P.case(c, False):
            k = cf(n, bad)
        return P.merge(l, k)

    with P.Flow("cache_branch_combos") as flow:
        v = P.Parameter("v", default=3)
        xs = P.Parameter("xs", default=[1, 2, 3])
        bad = P.Parameter("bad", default=0)
        c = is_pos(v)
        with P.case(c, True):
            p = pos(v)
            k1 = ka(v)
        with P.case(c, False):
            n = neg(v)
            k2 = kb(v)
        m = P.merge(p, n)
        mk = P.merge(k1, k2)
        am = P.apply_map(per_item, xs)
        elm = el.map(xs)
        ev = evens(xs)
        with P.case(ev, True):
            skipped_map = double.map(xs)
        lc = P.apply_map(loop_or_cache, P.flatten([[0, 1], [3], [], [1, 2]]),
                         bad=P.unmapped(bad))
        lc_show = show(lc)
        cfm = cf.map(xs, P.unmapped(bad))
        cfm_show = show(cfm)

    return {"flow": flow,
            "tasks": {"cond": c, "pos": p, "neg": n, "merge": m, "ka": k1, "kb": k2, "mk": mk,
                      "am": am, "elm": elm, "skipped_map": skipped_map, "lc": lc,
                      "lc_show": lc_show, "cfm": cfm, "cfm_show": cfm_show},
            "runs": [{"parameters": {"bad": 1}}, {"parameters": {"v": -2, "bad": 2}},
                     {"parameters": {"v": 3, "xs": [2, 5], "bad": 3}},
                     {"parameters": {"v": 4, "xs": [1, 2, 3]}}, {"v": -7}]}
