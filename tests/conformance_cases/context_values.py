"""Values in the context inside a task run: names, map_index, parameters,
run counts, date strings."""
import datetime


def build(P, R):
    keys = ["flow_name", "task_name", "task_full_name", "map_index", "task_run_count",
            "parameters", "task_tags", "task_loop_count"]

    def snap():
        ctx = P.context
        out = {k: ctx.get(k) for k in keys}
        out["task_tags"] = sorted(out["task_tags"] or [])
        out["has_today"] = ctx.get("today") == datetime.datetime.utcnow().strftime("%Y-%m-%d")
        out["nodash_ok"] = ctx.get("today_nodash") == (ctx.get("today") or "").replace("-", "")
        out["has_yesterday"] = isinstance(ctx.get("yesterday"), str)
        out["has_tomorrow"] = isinstance(ctx.get("tomorrow"), str)
        out["has_flow_run_id"] = isinstance(ctx.get("flow_run_id"), str)
        out["has_task_run_id"] = bool(ctx.get("task_run_id"))
        return out

    @P.task(tags=["t1", "t2"])
    def plain():
        return snap()

    @P.task
    def child(x):
        return snap()

    @P.task
    def uses_param(p):
        return [p, P.context.get("parameters")]

    with P.Flow("context_values") as flow:
        p = P.Parameter("p", default=3)
        q = P.Parameter("q", default="x")
        a = plain()
        c = child.map([7, 8])
        u = uses_param(p)

    return {"flow": flow, "tasks": {"plain": a, "child": c, "uses_param": u},
            "runs": [{}, {"parameters": {"q": "y"}}]}
