"""Which well-known context keys a task can read (present and not None),
for a plain task and a mapped child; date keys have the right shapes."""
import datetime


KEYS = ["date", "flow_id", "flow_name", "flow_run_id", "flow_run_name", "logger",
        "map_index", "parameters", "scheduled_start_time", "task_full_name", "task_id",
        "task_name", "task_run_count", "task_run_id", "task_slug", "task_tags", "today",
        "today_nodash", "tomorrow", "tomorrow_nodash", "yesterday", "yesterday_nodash",
        "task_loop_count", "task_loop_result", "resume"]


def build(P, R):
    def snap():
        ctx = P.context
        present = [k for k in KEYS if ctx.get(k) is not None]
        today = datetime.datetime.strptime(ctx.get("today"), "%Y-%m-%d")
        day = datetime.timedelta(days=1)
        shapes = {
            "yesterday": ctx.get("yesterday") == (today - day).strftime("%Y-%m-%d"),
            "tomorrow": ctx.get("tomorrow") == (today + day).strftime("%Y-%m-%d"),
            "yesterday_nodash": ctx.get("yesterday_nodash") == (today - day).strftime("%Y%m%d"),
            "tomorrow_nodash": ctx.get("tomorrow_nodash") == (today + day).strftime("%Y%m%d"),
            "date_type": type(ctx.get("date")).__name__ in ("DateTime", "datetime"),
        }
        return {"present": present, "shapes": shapes}

    @P.task
    def plain():
        return snap()

    @P.task
    def child(x):
        return snap()

    with P.Flow("context_keys") as flow:
        a = plain()
        c = child.map([1])

    return {"flow": flow, "tasks": {"plain": a, "child": c}}
