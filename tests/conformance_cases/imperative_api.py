"""The imperative flow API: add_task, add_edge with keys, set_dependencies with
keyword_tasks and upstream_tasks, mapped keyword tasks, Flow(tasks=...)."""


def build(P, R):
    class Src(P.Task):
        def run(self):
            return [1, 2, 3]

    class Inc(P.Task):
        def run(self, x):
            return x + 1

    class Sum(P.Task):
        def run(self, xs, start=0):
            return start + sum(xs)

    class Mark(P.Task):
        def run(self):
            R.incr("mark")
            return "mark"

    src, inc, tot, mark = Src(name="src"), Inc(name="inc"), Sum(name="sum"), Mark(name="mark")
    flow = P.Flow("imperative_api", tasks=[src])
    flow.add_task(mark)
    flow.set_dependencies(inc, keyword_tasks={"x": src}, mapped=True, upstream_tasks=[mark])
    flow.add_edge(inc, tot, key="xs")
    solo = Inc(name="solo")
    flow.add_edge(src, solo, key="x", mapped=True)

    return {"flow": flow, "tasks": {"src": src, "inc": inc, "sum": tot, "mark": mark,
                                     "solo": solo}}
