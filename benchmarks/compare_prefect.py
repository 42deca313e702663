#!/usr/bin/env python
"""The same mapped workloads on prefect_dask, Prefect 1.4.1, Prefect 3 and raw Dask, one table.

prefect_dask and raw Dask run in this interpreter.  Prefect 1 and Prefect 3 run in
interpreters where they are installed (this script never installs anything):

    python3.11 -m venv /tmp/p1 && /tmp/p1/bin/pip install prefect==1.4.1 "dask[distributed]"
    python3.11 -m venv /tmp/p3 && /tmp/p3/bin/pip install "prefect>=3,<4" prefect-dask
    python benchmarks/compare_prefect.py --prefect1-python /tmp/p1/bin/python \\
        --prefect3-python /tmp/p3/bin/python --out benchmarks/results/compare.json

Each (system, workload, executor) runs in a fresh subprocess, ``--repeat`` times;
the table shows the median wall time and the ratio to raw Dask's median on the
same graph (``dask.get`` / ``dask.threaded.get`` / ``client.get``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

WORKLOADS = {"map-1k": 1_000, "map-10k": 10_000, "fan-in-1k": 1_000}
EXECUTORS = ("local", "threads", "dask")

# One program per system: prints {"times": [...], "ok": bool} for (workload, executor, n, repeat).
PROGRAMS = {
    "prefect_dask": r'''
import json, sys, time
from prefect_dask import Flow, task
from prefect_dask.executors import LocalExecutor, LocalDaskExecutor, DaskExecutor
from prefect_dask.executors.base import Started
workload, executor, n, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
@task
def inc(x): return x + 1
@task
def total(xs): return sum(xs)
with Flow(workload) as flow:
    if workload == "fan-in-1k":
        total([inc(i) for i in range(n)])
    else:
        total(inc.map(list(range(n))))
ex = {"local": LocalExecutor, "threads": lambda: LocalDaskExecutor(num_workers=2),
      "dask": lambda: DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})}[executor]()
ex.__enter__()
times, ok = [], True
for _ in range(repeat):
    t0 = time.perf_counter()
    st = flow.run(executor=Started(ex), progress=False, log_level="WARNING")
    times.append(time.perf_counter() - t0); ok = ok and st.is_successful()
ex.__exit__(None, None, None)
print(json.dumps({"times": times, "ok": ok}))
''',
    "prefect1": r'''
import json, sys, time, logging
logging.getLogger("prefect").setLevel(logging.CRITICAL)
from prefect import Flow, task
from prefect.executors import LocalExecutor, LocalDaskExecutor, DaskExecutor
workload, executor, n, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
@task
def inc(x): return x + 1
@task
def total(xs): return sum(xs)
with Flow(workload) as flow:
    if workload == "fan-in-1k":
        total([inc(i) for i in range(n)])
    else:
        total(inc.map(list(range(n))))
make = {"local": LocalExecutor, "threads": lambda: LocalDaskExecutor(scheduler="threads", num_workers=2),
        "dask": lambda: DaskExecutor(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})}[executor]
times, ok = [], True
for _ in range(repeat):
    t0 = time.perf_counter()
    st = flow.run(executor=make())
    times.append(time.perf_counter() - t0); ok = ok and st.is_successful()
print(json.dumps({"times": times, "ok": ok}))
''',
    "prefect3": r'''
import json, sys, time, logging, os
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner
workload, executor, n, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if executor == "dask":
    from prefect_dask import DaskTaskRunner
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})
elif executor == "threads":
    runner = ThreadPoolTaskRunner(max_workers=2)
else:
    runner = ThreadPoolTaskRunner(max_workers=1)
@task
def inc(x): return x + 1
@task
def total(xs): return sum(xs)
@flow(task_runner=runner)
def wf():
    if workload == "fan-in-1k":
        futs = [inc.submit(i) for i in range(n)]
    else:
        futs = inc.map(list(range(n)))
    return total([f.result() for f in futs])
times = []
for _ in range(repeat):
    t0 = time.perf_counter(); wf(); times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "ok": True}))
''',
}


def _inc(x):
    return x + 1


def _total(*xs):
    return sum(xs)


def raw_dask(workload: str, executor: str, n: int, repeat: int) -> list[float]:
    """The same graph by hand: one node per element, then the sum."""
    import dask
    import dask.threaded
    from dask.local import get_sync

    graph = {("inc", i): (_inc, i) for i in range(n)}
    graph["total"] = (_total, *[("inc", i) for i in range(n)])
    times = []
    if executor == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c, \
                Client(c) as client:
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.get(graph, "total")
                times.append(time.perf_counter() - t0)
        return times
    get = get_sync if executor == "local" else \
        (lambda g, k: dask.threaded.get(g, k, num_workers=2))
    for _ in range(repeat):
        t0 = time.perf_counter()
        get(graph, "total")
        times.append(time.perf_counter() - t0)
    return times


def run_system(python: str, system: str, workload: str, executor: str, n: int, repeat: int,
               timeout: float) -> dict:
    try:
        proc = subprocess.run([python, "-c", PROGRAMS[system], workload, executor, str(n),
                               str(repeat)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefect1-python", help="an interpreter with prefect==1.4.1")
    ap.add_argument("--prefect3-python", help="an interpreter with prefect 3 and prefect-dask")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--executors", default=",".join(EXECUTORS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", help="write the JSON records here")
    args = ap.parse_args(argv)
    systems = [("prefect_dask", sys.executable)]
    if args.prefect1_python:
        systems.append(("prefect1", args.prefect1_python))
    if args.prefect3_python:
        systems.append(("prefect3", args.prefect3_python))
    records = []
    for workload in args.workloads.split(","):
        n = WORKLOADS[workload]
        for executor in args.executors.split(","):
            print(f"{workload} on {executor}: raw dask ...", file=sys.stderr, flush=True)
            raw = statistics.median(raw_dask(workload, executor, n, args.repeat))
            records.append({"workload": workload, "executor": executor, "system": "raw dask",
                            "median_s": round(raw, 4), "ratio_to_raw": 1.0})
            for system, python in systems:
                print(f"{workload} on {executor}: {system} ...", file=sys.stderr, flush=True)
                out = run_system(python, system, workload, executor, n, args.repeat,
                                 args.timeout)
                rec = {"workload": workload, "executor": executor, "system": system}
                if "error" in out:
                    rec["error"] = out["error"]
                else:
                    med = statistics.median(out["times"])
                    rec.update(median_s=round(med, 4), ratio_to_raw=round(med / raw, 2),
                               ok=out["ok"])
                records.append(rec)
    print("| workload | executor | system | median (s) | x raw Dask |")
    print("| --- | --- | --- | --- | --- |")
    for r in records:
        cell = r.get("error") or f"{r['median_s']} | {r['ratio_to_raw']}"
        print(f"| {r['workload']} | {r['executor']} | {r['system']} | {cell} |")
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}.")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"benchmark": "compare_prefect", "records": records,
                       "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
