"""Triggers: clean up whatever happens, and handle failures on a separate path.

    python examples/triggers.py

``train`` fails.  ``cleanup`` (all_finished) runs anyway, ``alert`` (any_failed)
runs because something failed, ``report`` (the default all_successful) does
not run, and ``skip_me``'s SKIP skips its downstream.  ``cleanup`` is the
reference task, so the flow ends Success.  Exits non-zero otherwise.
"""

import sys

from prefect_dask import Flow, signals, task, triggers
from prefect_dask.states import Skipped, Success, TriggerFailed


@task
def load():
    return [1, 2, 3]


@task
def train(data):
    raise RuntimeError("out of memory")


@task
def report(model):
    return f"model: {model}"


@task(trigger=triggers.all_finished)
def cleanup(model):
    return "cleaned up"


@task(trigger=triggers.any_failed)
def alert(model):
    return f"alert: {model}"


@task
def skip_me():
    raise signals.SKIP("nothing to do today")


@task
def after_skip(x):
    return "never runs"


def main() -> int:
    with Flow("triggers") as flow:
        data = load()
        model = train(data)
        rep = report(model)
        clean = cleanup(model)
        warn = alert(model)
        skipped = after_skip(skip_me())
    flow.set_reference_tasks([clean])

    state = flow.run()
    for t in (data, model, rep, clean, warn, skipped):
        s = state.result[t]
        print(f"{t.name:>10}: {type(s).__name__:<14} {s.result!r}")
    print(f"flow state: {type(state).__name__}")

    expected = {rep: TriggerFailed, clean: Success, warn: Success, skipped: Skipped}
    ok = state.is_successful() and all(type(state.result[t]) is cls
                                       for t, cls in expected.items())
    ok = ok and state.result[model].is_failed()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
