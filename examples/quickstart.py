"""Quickstart: a small ETL flow run on the default executor.

    python examples/quickstart.py

Prints each task's result and exits non-zero if the flow did not succeed.
"""

import sys

from prefect_dask import Flow, Parameter, task


@task
def extract(n):
    return list(range(1, n + 1))


@task
def transform(numbers, factor):
    return [x * factor for x in numbers]


@task
def load(numbers):
    return sum(numbers)


def main() -> int:
    with Flow("quickstart") as flow:
        n = Parameter("n", default=4)
        factor = Parameter("factor", default=10)
        numbers = extract(n)
        scaled = transform(numbers, factor)
        total = load(scaled)

    state = flow.run()          # default executor: LocalExecutor
    for t in (numbers, scaled, total):
        print(f"{t.name:>10}: {state.result[t].result}")
    print(f"flow state: {type(state).__name__}")

    expected = sum(range(1, 5)) * 10
    if not state.is_successful() or state.result[total].result != expected:
        print(f"unexpected outcome: wanted total {expected}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
