"""Retries: a flaky task retried with exponential backoff, filtered by exception type.

    python examples/retries.py

``fetch`` fails twice with a ConnectionError and then succeeds; ``parse``
raises a ValueError, which is not in its ``retry_on`` list, so it fails at once.
Exits non-zero if either task did not end as described.
"""

import itertools
import sys

from prefect_dask import Flow, exponential_backoff, get_logger, task
from prefect_dask.executors import LocalDaskExecutor

calls = itertools.count(1)


@task(max_retries=3, retry_delay=exponential_backoff(0.05), retry_on=[ConnectionError])
def fetch():
    attempt = next(calls)
    if attempt < 3:
        get_logger().warning("attempt %d: the server hung up", attempt)
        raise ConnectionError(f"attempt {attempt} failed")
    return {"rows": 3}


@task(max_retries=3, retry_delay=0.05, retry_on=[ConnectionError])
def parse(payload):
    raise ValueError(f"cannot parse {payload!r}")


def main() -> int:
    with Flow("retries") as flow:
        payload = fetch()
        parsed = parse(payload)

    state = flow.run(executor=LocalDaskExecutor(scheduler="threads"))
    fetched, failed = state.result[payload], state.result[parsed]
    print(f"fetch: {type(fetched).__name__} after {fetched.attempts} attempts -> {fetched.result}")
    print(f"parse: {type(failed).__name__} after {failed.attempts} attempt(s) -> {failed.result!r}")
    print(f"flow state: {type(state).__name__}")

    ok = (fetched.is_successful() and fetched.attempts == 3 and failed.is_failed()
          and failed.attempts == 1 and state.is_failed())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
