"""Results and targets with checkpointing on (flow.run(context={"checkpointing": True})):
LocalResult(location="{task_name}-{map_index}.txt") on a mapped task, target= templates
reading parameters and map_index (a run finding the target ends Cached without running
the body), a JSONSerializer result, PrefectResult, a failing task with a target, a
target behind an upstream that fails only in the second run, a task returning None
with a target (None is never written: it runs every time), a SKIP with a target, a
result the serializer cannot write (Running -> Failed, the serializer's error as the
result), handler transitions on a target hit, and DateTimeParameter."""

import importlib
import os
import tempfile


def build(P, R):
    results = importlib.import_module(f"{P.impl}.engine.results")
    serializers = importlib.import_module(f"{P.impl}.engine.serializers")
    DateTimeParameter = importlib.import_module(f"{P.impl}.core.parameter").DateTimeParameter
    where = os.path.join(tempfile.gettempdir(), f"conformance-results-{R.uid}")  # one per pair
    os.makedirs(where, exist_ok=True)

    def local(**kw):
        return results.LocalResult(dir=where, **kw)

    def handler(task, old, new):
        R.olog(task.name, [type(old).__name__, type(new).__name__])
        return new

    @P.task(checkpoint=True, result=local(serializer=serializers.JSONSerializer()),
            state_handlers=[handler])
    def not_json():
        return {1, 2}

    @P.task(checkpoint=True, result=local(), target="hit.bin", state_handlers=[handler])
    def hit():
        return "stored"

    @P.task(checkpoint=True, result=local(location="{task_name}-{map_index}.txt"))
    def sq(x):
        R.incr("sq")
        return x * x

    @P.task(checkpoint=True, result=local(), target="{task_name}-{parameters[n]}.bin")
    def tgt(n):
        R.incr(f"tgt-{n}")
        return {"n": n}

    @P.task(checkpoint=True, result=local(serializer=serializers.JSONSerializer()),
            target="json-{map_index}.json")
    def js(x):
        R.incr("js")
        return [x, "v"]

    @P.task(checkpoint=True, result=results.PrefectResult())
    def pr(n):
        R.incr("pr")
        return n + 1

    @P.task(checkpoint=True, result=local(), target="failing.bin")
    def failing():
        R.incr("failing")
        raise ValueError("no")

    @P.task(checkpoint=True, result=local(), target="none.bin")
    def gives_none():
        R.incr("gives_none")

    @P.task(checkpoint=True, result=local(), target="skip.bin")
    def skips():
        R.incr("skips")
        raise P.signals.SKIP("skipped with a target")

    @P.task
    def gate(fail):
        if fail:
            raise ValueError("gate closed")
        return "open"

    @P.task(checkpoint=True, result=local(), target="behind.bin")
    def behind(g):
        R.incr("behind")
        return ["behind", g]

    @P.task
    def nums():
        return [1, 2, 3]

    @P.task
    def show(d):
        return None if d is None else [d.isoformat(), d.tzinfo is not None]

    @P.task
    def down(x):
        return ["down", x]

    with P.Flow("results_targets") as flow:
        n = P.Parameter("n", default=3)
        fail = P.Parameter("fail", default=False)
        when = DateTimeParameter("when", required=False)
        s = sq.map(nums())
        t = tgt(n)
        j = js.map(nums())
        p = pr(n)
        f = failing()
        b = behind(gate(fail))
        nn = gives_none()
        sk = skips()
        nj = not_json()
        nj_down = show(nj)
        h = hit()
        d = show(when)
        dt = down(t)
        dj = down.map(j)

    on = {"checkpointing": True}
    return {"flow": flow,
            "tasks": {"sq": s, "tgt": t, "js": j, "pr": p, "failing": f, "behind": b, "none": nn, "skip": sk, "not_json": nj,
                      "not_json_down": nj_down, "hit": h,
                      "when": d, "down_tgt": dt, "down_js": dj},
            "runs": [{"parameters": {"when": "2024-03-05T10:20:30"}, "context": on},
                     {"parameters": {"when": "2024-03-05", "fail": True}, "context": on},
                     {"parameters": {"n": 4, "when": "2024-03-05T10:20:30+02:00"},
                      "context": on}]}
