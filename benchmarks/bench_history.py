#!/usr/bin/env python
"""How `prefect-dask runs list` and `runs show last` scale with the run history.

Real flow runs (a mapped task of ``--children`` children, one child in 50 failing,
on threads) are written into two fresh homes, one with ``--small`` runs and one with
``--big`` runs.  In each, the two commands run in this process (``cli.main``, output
discarded; each builds its own ``History`` as a new process would) ``--repeat`` times
after a first, "cold" call that indexes the records written since the last sync.
The target (issue 15): with 300 runs of 1,000 children both stay within 2x of their
time with 10 runs.  For reference, the same listing done the old way, reading every
record (``records.list_runs``), is timed too.

    python benchmarks/bench_history.py --out benchmarks/results/bench_history.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time


def make_runs(home: str, runs: int, children: int) -> float:
    """Write ``runs`` real runs into ``home``; returns the seconds it took."""
    os.environ["PREFECT_DASK_HOME"] = home
    from prefect_dask import Flow, task

    @task
    def parse(x):
        if x % 50 == 7:
            raise ValueError(f"bad record {x}")
        return x

    with Flow("history-bench") as flow:
        parse.map(list(range(children)))
    t0 = time.perf_counter()
    for _ in range(runs):
        flow.run(executor="threads", progress=False, log_level="CRITICAL")
    return time.perf_counter() - t0


def timed(argv: list[str]) -> float:
    from prefect_dask.app.cli import main

    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    took = time.perf_counter() - t0
    if code != 0 or not out.getvalue():
        raise SystemExit(f"prefect-dask {' '.join(argv)} failed ({code}): {out.getvalue()}")
    return took


def measure(home: str, repeat: int) -> dict:
    from prefect_dask.store.records import list_runs

    os.environ["PREFECT_DASK_HOME"] = home
    out: dict = {}
    for name, argv in (("runs_list", ["runs", "list"]),
                       ("runs_show_last", ["runs", "show", "last"])):
        cold = timed(argv)
        warm = [timed(argv) for _ in range(repeat)]
        out[name] = {"cold_s": round(cold, 4), "warm_s": [round(w, 4) for w in warm],
                     "median_s": round(statistics.median(warm), 4),
                     "min_s": round(min(warm), 4)}
    t0 = time.perf_counter()
    list_runs()
    out["read_every_record_s"] = round(time.perf_counter() - t0, 4)
    out["index_mib"] = round(os.path.getsize(os.path.join(home, "history.sqlite")) / 2**20, 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=10)
    ap.add_argument("--big", type=int, default=300)
    ap.add_argument("--children", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--out")
    args = ap.parse_args()
    from prefect_dask.app.bench import environment

    result: dict = {"benchmark": "bench_history", "environment": environment(),
                    "children": args.children, "homes": {}}
    for runs in (args.small, args.big):
        home = tempfile.mkdtemp(prefix=f"history-{runs}-")
        written = make_runs(home, runs, args.children)
        result["homes"][str(runs)] = {"runs": runs, "write_s": round(written, 2),
                                      **measure(home, args.repeat)}
        print(f"{runs} runs: {json.dumps(result['homes'][str(runs)])}", file=sys.stderr)
    small, big = result["homes"][str(args.small)], result["homes"][str(args.big)]
    result["ratio_big_to_small"] = {
        name: round(big[name]["median_s"] / small[name]["median_s"], 2)
        for name in ("runs_list", "runs_show_last")}
    result["within_2x"] = all(r <= 2 for r in result["ratio_big_to_small"].values())
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0 if result["within_2x"] else 1


if __name__ == "__main__":
    sys.exit(main())
