"""Flow-level failures that flow.run returns rather than raises: a flow state
handler that raises, and a task mapping over a literal dict."""


def build(P, R):
    def fh(flow, old, new):
        if new.is_successful() and flow.name == "flow_errors":
            raise RuntimeError("flow handler boom")
        return new

    @P.task
    def one():
        return 1

    with P.Flow("flow_errors", state_handlers=[fh]) as flow:
        o = one()

    return {"flow": flow, "tasks": {"one": o}}
