"""RETRY signal: run counts in the context, handler states and run_count,
with and without max_retries."""
from datetime import timedelta


def build(P, R):
    def h(task, old, new):
        R.olog(f"h_{task.name}", [type(old).__name__, type(new).__name__,
                                  getattr(new, "run_count", None)
                                  if type(new).__name__ == "Retrying" else None])
        return new

    @P.task(state_handlers=[h])
    def plain():
        n = P.context.get("task_run_count")
        R.olog("plain_counts", n)
        if n < 3:
            raise P.signals.RETRY(f"retry {n}")
        return n

    @P.task(state_handlers=[h], max_retries=1, retry_delay=timedelta(0))
    def limited():
        n = P.context.get("task_run_count")
        R.olog("limited_counts", n)
        if n < 4:
            raise P.signals.RETRY(f"retry {n}")
        return n

    with P.Flow("retry_signal_counts") as flow:
        p = plain()
        l = limited()

    return {"flow": flow, "tasks": {"plain": p, "limited": l}}
