"""One flow, unchanged, on every executor: the calling thread, a thread pool, a process pool
and a Dask LocalCluster of two worker processes (started and stopped by the executor).

    python examples/executors.py

Each mapped child reports the process it ran in; on the cluster the children spread over
both workers.  Exits non-zero if a run went wrong.
"""

import os
import sys
import time

from prefect_dask import Flow, task
from prefect_dask.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


@task(map_batch_size=1)
def square(x):
    time.sleep(0.05)
    return x * x, os.getpid()


@task
def summary(pairs):
    return sum(v for v, _ in pairs), len({pid for _, pid in pairs})


def main() -> int:
    with Flow("executors") as flow:
        out = summary(square.map(list(range(16))))

    executors = {
        "local": LocalExecutor(),
        "threads": LocalDaskExecutor(scheduler="threads", num_workers=4),
        "processes": LocalDaskExecutor(scheduler="processes", num_workers=2),
        "dask": DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 2}),
    }
    ok = True
    for name, executor in executors.items():
        start = time.perf_counter()
        state = flow.run(executor=executor, progress=False, log_level="WARNING")
        total, processes = state.result[out].result
        print(f"{name:>9}: flow state: {type(state).__name__}, sum {total}, children ran in "
              f"{processes} process(es), {time.perf_counter() - start:.2f} s")
        ok = ok and state.is_successful() and total == sum(x * x for x in range(16))
        ok = ok and (processes == 2 if name in ("processes", "dask") else processes == 1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
