#!/usr/bin/env python
"""Mapped workloads through prefect_dask and through raw Dask on the same graph.

Each workload runs in a fresh subprocess (so its peak RSS is its own), and in
it prefect_dask and a hand-built raw Dask graph of the same work (one node per
element and stage) alternate ``--repeat`` times.  Prints one JSON document
(and writes it to ``--out``): per workload the median wall times, their ratio,
prefect_dask's overhead per task run in microseconds, the peak RSS, plus
versions and the git revision.

    python benchmarks/bench_map.py --executor threads --repeat 3 --out benchmarks/results/threads.json
    python benchmarks/bench_map.py --executor local --workloads map-10k --n 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

WORKLOADS = ("map-1k", "map-10k", "chain-3x1k", "sleep-64", "retry-200", "fan-in-1k",
             "diamond-4x2k", "map-1m")
DASK_WORKLOADS = ("map-10k", "sleep-1k-10ms", "fan-in-1k", "diamond-4x2k", "bytes-100x10mb",
                  "bytes-100x10mb-on-cluster", "param-1b", "param-20mb")
ON_CLUSTER = "-on-cluster"   # suffix: the same workload with DaskExecutor(results_on_cluster=True)
MB10 = 10 * 2**20
BLOB = {"param-1b": 1, "param-20mb": 20 * 2**20}   # size of the Parameter every child reads
SLEEP = 0.05
SHORT_SLEEP = 0.01


# -- the work, as plain functions (raw Dask) -------------------------------------
def inc(x):
    return x + 1


def total(*xs):
    return sum(xs)


def nap(x):
    time.sleep(SLEEP)
    return x


def nap_short(x):
    time.sleep(SHORT_SLEEP)
    return x


def make_bytes(x):
    return bytes(MB10)


def size(*blobs):
    return sum(len(b) for b in blobs)


def add2(a, b):
    return a + b


def use_blob(x, blob):
    return x + len(blob)


def flaky_raw(x):
    for attempt in (1, 2):  # the raw graph retries by hand, as the engine would
        try:
            if attempt == 1:
                raise RuntimeError("first attempt fails")
            return x
        except RuntimeError:
            continue


def shape(workload, n_override):
    """(element count, mapped stages, function, reduce?) of a workload."""
    return {
        "map-1k": (n_override or 1_000, 1, inc, True),
        "map-10k": (n_override or 10_000, 1, inc, True),
        "chain-3x1k": (n_override or 1_000, 3, inc, True),
        "sleep-64": (64, 1, nap, False),
        "retry-200": (200, 1, flaky_raw, False),
        "sleep-1k-10ms": (1_000, 1, nap_short, False),
        "fan-in-1k": (n_override or 1_000, 1, inc, True),
        "diamond-4x2k": (n_override or 2_000, 4, inc, True),
        "bytes-100x10mb": (100, 1, make_bytes, True),
        "map-1m": (n_override or 1_000_000, 1, inc, True),
        # inc over a list, no reduce: what each mapped child costs the workers' memory
        "wide-1m": (n_override or 1_000_000, 1, inc, False),
        "wide-2m": (n_override or 2_000_000, 1, inc, False),
        "wide-10m": (n_override or 10_000_000, 1, inc, False),
        "param-1b": (n_override or 200, 1, use_blob, False),
        "param-20mb": (n_override or 200, 1, use_blob, False),
    }[workload]


class Span:
    """Raw Dask's batch result in a wide workload: the span's values in one object, as
    prefect_dask's batch returns its children in one.  (A bare list result is gathered
    element by element by distributed: 24 s per 10^6 ints here, against 0.07 s boxed.)"""

    def __init__(self, values):
        self.values = values


def inc_span(start, stop):
    """Raw Dask's batch of a wide workload: inc over one contiguous span."""
    return Span([inc(i) for i in range(start, stop)])


def raw_graph(n, stages, fn, reduce, workload=""):
    if workload in WIDE:   # the batch tasks prefect_dask makes on 2 workers, same sizes
        from prefect_dask.engine.compile import batch_size_for
        from prefect_dask.task import Task

        step = batch_size_for(Task(), n, 2)
        graph = {("a", j): (inc_span, s, min(s + step, n)) for j, s in enumerate(range(0, n, step))}
        return graph, list(graph)
    if workload == "diamond-4x2k":  # a -> (b, c) -> d per element, then the sum
        graph = {}
        for i in range(n):
            graph.update({("a", i): (inc, i), ("b", i): (inc, ("a", i)), ("c", i): (inc, ("a", i)),
                          ("d", i): (add2, ("b", i), ("c", i))})
        graph["out"] = (total, *[("d", i) for i in range(n)])
        return graph, "out"
    if workload in BLOB:  # one node holds the blob; every element's node reads it
        graph = {"blob": bytes(BLOB[workload])}
        graph.update({("s0", i): (use_blob, i, "blob") for i in range(n)})
        return graph, [("s0", i) for i in range(n)]
    if workload == "bytes-100x10mb":
        graph = {("s0", i): (make_bytes, i) for i in range(n)}
        graph["out"] = (size, *[("s0", i) for i in range(n)])
        return graph, "out"
    graph = {("s0", i): (fn, i) for i in range(n)}
    for s in range(1, stages):
        graph.update({(f"s{s}", i): (fn, (f"s{s - 1}", i)) for i in range(n)})
    last = [(f"s{stages - 1}", i) for i in range(n)]
    if reduce:
        graph["out"] = (total, *last)
        return graph, "out"
    return graph, last


def build_flow(workload, n, stages, reduce):
    from prefect_dask import Flow, Parameter, context, task, unmapped

    @task
    def t_inc(x):
        return x + 1

    @task
    def t_total(xs):
        return sum(xs)

    @task
    def t_nap(x):
        time.sleep(SLEEP)
        return x

    @task
    def t_nap_short(x):
        time.sleep(SHORT_SLEEP)
        return x

    @task(max_retries=1, retry_delay=0)
    def t_flaky(x):
        if context.task_run_count == 1:
            raise RuntimeError("first attempt fails")
        return x

    fn = {"sleep-64": t_nap, "retry-200": t_flaky, "sleep-1k-10ms": t_nap_short}.get(workload,
                                                                                   t_inc)

    @task
    def t_add2(a, b):
        return a + b

    @task
    def t_bytes(x):
        return bytes(MB10)

    @task
    def t_size(blobs):
        return sum(len(b) for b in blobs)

    @task(map_batch_size=1)   # one node per element, as the raw graph
    def t_use_blob(x, blob):
        return x + len(blob)

    with Flow(workload) as flow:
        if workload in BLOB:             # a Parameter every child reads whole
            blob = Parameter("blob", default=bytes(BLOB[workload]))
            t_use_blob.map(list(range(n)), unmapped(blob))
            return flow
        if workload == "fan-in-1k":      # 1,000 separate tasks (no mapping), one reduce
            t_total([t_inc(i) for i in range(n)])
            return flow
        if workload == "diamond-4x2k":   # a -> (b, c) -> d, mapped over n, then the sum
            a = t_inc.map(list(range(n)))
            t_total(t_add2.map(t_inc.map(a), t_inc.map(a)))
            return flow
        if workload == "bytes-100x10mb":  # big results that should stay on the workers
            t_size(t_bytes.map(list(range(n))))
            return flow
        out = fn.map(list(range(n)))
        for _ in range(stages - 1):
            out = fn.map(out)
        if reduce:
            out = t_total(out)
    return flow


def make_executor(name, workers, results_on_cluster=False):
    from prefect_dask.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

    if name == "local":
        return LocalExecutor()
    if name in ("threads", "processes"):
        return LocalDaskExecutor(scheduler=name, num_workers=workers)
    if name == "dask":
        return DaskExecutor(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                            "processes": True},
                            results_on_cluster=results_on_cluster)
    raise SystemExit(f"unknown executor {name!r}; use local, threads, processes or dask")


WIDE = ("wide-1m", "wide-2m", "wide-10m")


def _peak_rss_mib():
    """On a worker: its process's peak RSS in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def run_child(args):
    """Run one workload here; print its JSON record."""
    import dask
    import dask.multiprocessing
    import dask.threaded
    from dask.local import get_sync

    from prefect_dask.executors.base import Started

    on_cluster = args.workload.endswith(ON_CLUSTER)
    workload = args.workload.removesuffix(ON_CLUSTER)
    n, stages, fn, reduce = shape(workload, args.n)
    workers = 8 if workload == "sleep-64" else args.workers
    flow = build_flow(workload, n, stages, reduce)
    graph, keys = raw_graph(n, stages, fn, reduce, workload)
    executor = make_executor(args.executor, workers, results_on_cluster=on_cluster)
    setup = None
    if args.executor == "dask":
        t0 = time.perf_counter()
        executor.__enter__()
        setup = time.perf_counter() - t0
        client = executor.client
        raw_get = lambda: client.get(graph, keys)  # noqa: E731

        def client_map():  # the plain futures way: client.map, then gather or sum
            extra = ({"blob": client.scatter(bytes(BLOB[workload]), hash=False)}
                     if workload in BLOB else {})   # a big input: scattered once
            futures = client.map(fn, range(n), pure=False, **extra)
            if reduce:
                reducer = size if workload == "bytes-100x10mb" else total
                return client.submit(reducer, *futures).result()
            return client.gather(futures)

        def client_map_gather():  # client.map, then every result to the driver, as flow.run
            futures = client.map(fn, range(n), pure=False)
            return client.submit(size, *futures).result(), client.gather(futures)
        # results_on_cluster: flow.run enters the executor started here again (its results
        # stay readable until it stops); otherwise it is lent as Started
        run_ours = lambda: flow.run(  # noqa: E731
            executor=executor if on_cluster else Started(executor), progress=False,
            log_level="WARNING")
    else:
        raw_get = {
            "local": lambda: get_sync(graph, keys),
            "threads": lambda: dask.threaded.get(graph, keys, num_workers=workers),
            "processes": lambda: dask.multiprocessing.get(graph, keys, num_workers=workers),
        }[args.executor]
        run_ours = lambda: flow.run(executor=make_executor(args.executor, workers),  # noqa: E731
                                    progress=False, log_level="WARNING")
    ours, raw = [], []
    repeat = 1 if args.workload in ("map-1m", *WIDE) else args.repeat
    t0 = time.perf_counter()
    state = run_ours()                   # first run alone: its peak RSS is ours only
    ours.append(time.perf_counter() - t0)
    ok = state.is_successful()
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    # each worker's peak RSS so far: prefect_dask's run only (raw Dask runs after it)
    rss_workers = sorted(client.run(_peak_rss_mib).values()) if args.executor == "dask" else None
    t0 = time.perf_counter()
    raw_get()
    raw.append(time.perf_counter() - t0)
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        state = run_ours()
        ours.append(time.perf_counter() - t0)
        ok = ok and state.is_successful()
        t0 = time.perf_counter()
        raw_get()
        raw.append(time.perf_counter() - t0)
    if on_cluster:   # a big result stayed on the cluster: reading it fetches it
        blobs = next(t for t in flow.tasks if t.name == "t_bytes")
        assert len(state.result[blobs].map_states[0].result) == MB10
    state = None
    cmap, cgather = [], []
    if args.executor == "dask" and workload not in WIDE:   # 10^6 futures: minutes of client
        for _ in range(repeat):
            t0 = time.perf_counter()
            client_map()
            cmap.append(time.perf_counter() - t0)
            if args.workload == "bytes-100x10mb":
                t0 = time.perf_counter()
                client_map_gather()
                cgather.append(time.perf_counter() - t0)
        executor.__exit__(None, None, None)
    tasks = n * stages + (1 if reduce else 0)
    med_ours, med_raw = statistics.median(ours), statistics.median(raw)
    record = {
        "workload": args.workload, "executor": args.executor, "workers": workers,
        "results_on_cluster": on_cluster,
        "elements": n, "stages": stages, "task_runs": tasks, "flow_succeeded": ok,
        "prefect_dask_s": [round(t, 4) for t in ours], "raw_dask_s": [round(t, 4) for t in raw],
        "median_prefect_dask_s": round(med_ours, 4), "median_raw_dask_s": round(med_raw, 4),
        "ratio": round(med_ours / med_raw, 3),
        "us_per_task_prefect_dask": round(med_ours / tasks * 1e6, 2),
        "us_per_task_raw_dask": round(med_raw / tasks * 1e6, 2),
        "peak_rss_mib_prefect_dask": rss_ours,
        "peak_rss_mib_with_raw": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "cluster_setup_s": None if setup is None else round(setup, 3),
    }
    if rss_workers is not None:
        record["peak_rss_mib_per_worker_prefect_dask"] = rss_workers
    if cmap:
        record["median_raw_client_map_s"] = round(statistics.median(cmap), 4)
        record["ratio_to_client_map"] = round(med_ours / statistics.median(cmap), 3)
    if cgather:  # the same work with every result fetched, as flow.run returns them all
        record["median_raw_client_map_gather_s"] = round(statistics.median(cgather), 4)
        record["ratio_to_client_map_gather"] = round(med_ours / statistics.median(cgather), 3)
    if args.workload == "sleep-64":
        record["ideal_s"] = round(64 * SLEEP / workers, 3)
        record["ratio_to_ideal"] = round(med_ours / record["ideal_s"], 3)
    print(json.dumps(record))


def versions():
    import cloudpickle
    import dask
    import distributed

    import prefect_dask

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        rev = None
    return {"python": platform.python_version(), "prefect_dask": prefect_dask.__version__,
            "dask": dask.__version__, "distributed": distributed.__version__,
            "cloudpickle": cloudpickle.__version__, "git_rev": rev,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--executor", default="threads", help="local | threads | processes | dask")
    ap.add_argument("--workloads", default=None,
                    help="comma-separated subset (default: all; on dask: map-10k,sleep-1k-10ms)")
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=None, help="override the element count")
    ap.add_argument("--stages", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=2, help="workers (sleep-64 always uses 8)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="write the JSON here too")
    args = ap.parse_args(argv)
    if args.workload:
        return run_child(args)
    records = []
    chosen = args.workloads or ",".join(DASK_WORKLOADS if args.executor == "dask" else WORKLOADS)
    for workload in chosen.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--workload", workload,
               "--executor", args.executor, "--repeat", str(args.repeat),
               "--workers", str(args.workers)]
        if args.n:
            cmd += ["--n", str(args.n)]
        print(f"running {workload} on {args.executor} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            records.append({"workload": workload, "executor": args.executor,
                            "error": proc.stderr.strip().splitlines()[-1:]})
            continue
        records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    by_name = {r["workload"]: r for r in records if "error" not in r}
    if "param-1b" in by_name and "param-20mb" in by_name:   # the price of a big Parameter
        big, small = by_name["param-20mb"], by_name["param-1b"]
        big["ratio_to_param_1b"] = round(big["median_prefect_dask_s"] /
                                         small["median_prefect_dask_s"], 3)
        big["raw_ratio_to_param_1b"] = round(big["median_raw_dask_s"] /
                                             small["median_raw_dask_s"], 3)
    wide = [by_name[w] for w in WIDE if w in by_name]
    for r in wide[1:]:   # time linear in the width: the cost per child against the narrowest
        r["us_per_child_to_" + wide[0]["workload"]] = round(
            r["us_per_task_prefect_dask"] / wide[0]["us_per_task_prefect_dask"], 3)
    doc = {"benchmark": "bench_map", "versions": versions(), "records": records}
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
