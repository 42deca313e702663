"""Tasks that log through get_logger / context logger and print with
log_stdout=True; results are unaffected."""


def build(P, R):
    @P.task(log_stdout=True)
    def printer(x):
        print("printing", x)
        return x

    @P.task
    def logs(x):
        P.get_logger().info("info %s", x)
        lg = P.context.get("logger")
        if lg is not None:
            lg.warning("from context logger")
        return x + 1

    with P.Flow("logging_tasks") as flow:
        p = printer(1)
        lg = logs(p)
        m = printer.map([1, 2])

    return {"flow": flow, "tasks": {"printer": p, "logs": lg, "mapped": m}}
