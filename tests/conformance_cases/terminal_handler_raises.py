"""A terminal_state_handler that raises, and one that returns None (state kept)."""


def build(P, R):
    @P.task
    def ok():
        return 1

    def handler(flow, state, reference_task_states):
        R.incr("called")
        raise RuntimeError("handler broke")

    with P.Flow("terminal_handler_raises", terminal_state_handler=handler) as flow:
        a = ok()
    return {"flow": flow, "tasks": {"a": a}}
