"""Flow-level state handlers and on_failure, a flow handler that changes the
final state, plus a failing reference task."""


def build(P, R):
    def fh(flow, old, new):
        R.olog("flow", [type(old).__name__, type(new).__name__, new.message])
        return new

    def fon(flow, state):
        R.olog("flow_on_failure", [type(state).__name__])

    @P.task
    def good():
        return 1

    @P.task
    def bad(x):
        if x:
            raise ValueError("bad")
        return 0

    with P.Flow("flow_handlers", state_handlers=[fh], on_failure=fon) as flow:
        fail = P.Parameter("fail", default=True)
        g = good()
        b = bad(fail)

    return {"flow": flow, "tasks": {"good": g, "bad": b},
            "runs": [{}, {"parameters": {"fail": False}}]}
