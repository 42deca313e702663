"""task_run_name templates and callables; what the task sees in context."""


def build(P, R):
    @P.task(task_run_name="greet-{name}")
    def greet(name):
        return ["hello", name, P.context.get("task_run_name"), P.context.get("task_full_name")]

    def namer(**kwargs):
        return f"sq-{kwargs['x']}"

    @P.task(task_run_name=namer)
    def sq(x):
        return [x * x, P.context.get("task_run_name")]

    with P.Flow("task_run_name") as flow:
        g = greet("bob")
        s = sq.map([1, 2])

    return {"flow": flow, "tasks": {"greet": g, "sq": s}}
