#!/usr/bin/env python
"""How fast ``prefect-dask ui`` shows a big run's page in a real browser.

Runs a real flow with ``--n`` mapped children in each of two mapped tasks (one
child in 9,973 fails, so the page has failures to group), then starts
``prefect-dask ui`` on 127.0.0.1 and headless Chromium (``tests/browser.py``)
and opens the run's page once, then ``--repeat`` times more: the time from
navigation to the load event (the browser's own Navigation Timing), the page's
size, and the JSON view's size.  The first load is reported apart: the UI's
history indexes the new record then (while a run goes, it does so as it goes).
Then records ``--runs`` small runs of two flows and times the runs list: its
first load (indexing them), the first page, a page filtered by flow and state,
and the last page.  Prints one JSON document (and writes it to ``--out``) with
versions, git revision and machine.

There is no raw-Dask baseline here: Dask has no page for a finished run (its
dashboard shows only the live cluster); the flow's own run time is printed
beside the page time for scale.

    python benchmarks/ui_page.py --n 100000 --repeat 5 --out benchmarks/results/ui_page.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser import Chromium, UIProcess, fetch  # noqa: E402  (tests/browser.py)


def make_run(home: str, n: int, executor: str) -> float:
    """Run the big flow once under ``home``; its wall time."""
    os.environ["PREFECT_DASK_HOME"] = home
    from prefect_dask import Flow, Parameter, task

    @task
    def numbers(k):
        return list(range(k))

    @task
    def work(x):
        if x % 9973 == 0:
            raise ValueError(f"bad record {x}")
        return x

    @task
    def double(x):
        return 2 * x

    with Flow("big") as flow:
        double.map(work.map(numbers(Parameter("n"))))
    start = time.perf_counter()
    flow.run(parameters={"n": n}, executor=executor, log_level="ERROR")
    return time.perf_counter() - start


def make_runs(home: str, runs: int) -> float:
    """``runs`` small runs of two flows under ``home`` (one in ten fails); their wall time."""
    os.environ["PREFECT_DASK_HOME"] = home
    from prefect_dask import Flow, Parameter, task

    @task
    def check(x):
        if x % 10 == 0:
            raise ValueError(f"bad input {x}")
        return x

    flows = []
    for name in ("nightly-etl", "hourly-sync"):
        with Flow(name) as flow:
            check(Parameter("x"))
        flows.append(flow)
    start = time.perf_counter()
    for i in range(runs):
        flows[i % 2].run(parameters={"x": i}, log_level="ERROR")
    return time.perf_counter() - start


def load_time(browser: Chromium, url: str) -> float:
    """Seconds from navigation to the load event of ``url``."""
    browser.goto(url)
    return browser.eval("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000


def versions() -> dict:
    import dask
    import prefect_dask

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=HERE, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = None
    chromium = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout
    return {"python": platform.python_version(), "prefect_dask": prefect_dask.__version__,
            "dask": dask.__version__, "chromium": chromium.strip().splitlines()[0]
            if chromium.strip() else None, "git_rev": rev,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="children per mapped task")
    ap.add_argument("--executor", default="threads")
    ap.add_argument("--runs", type=int, default=10_000,
                    help="small runs recorded beside the big one, for the runs list")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", help="write the JSON here too")
    ap.add_argument("--screenshot", help="write a PNG of the run's page here")
    args = ap.parse_args()
    # the runs keep their ERROR lines and tracebacks (the page shows them); print none here
    logging.getLogger().addHandler(logging.NullHandler())
    home = tempfile.mkdtemp(prefix="prefect-dask-ui-bench-")
    try:
        measure(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(args: argparse.Namespace, home: str) -> None:
    flow_s = make_run(home, args.n, args.executor)
    record = next(Path(home, "runs").glob("*.msgpack"))
    with UIProcess(home) as ui, Chromium(1280, 900) as browser:
        page = f"{ui.url}/runs/{record.stem}"
        first = load_time(browser, page)   # indexes the record (the history catches up)
        loads = [load_time(browser, page) for _ in range(args.repeat)]
        many_s = make_runs(home, args.runs)
        first_list = load_time(browser, ui.url + "/")   # indexes the new records
        lists = {what: statistics.median(load_time(browser, ui.url + query)
                                         for _ in range(args.repeat))
                 for what, query in (("first_page", "/"), ("filtered", "/?flow=nightly-etl"
                                                           "&state=Failed"),
                                     ("last_page", f"/?page={args.runs // 50 + 1}"))}
        if args.screenshot:
            browser.goto(page)
            browser.screenshot(args.screenshot)
        html_bytes = len(fetch(page)[1].encode())
        json_bytes = len(fetch(f"{ui.url}/api/runs/{record.stem}")[1].encode())
    out = {"benchmark": "ui_page", "children": 2 * args.n, "task_runs": 2 * args.n + 4,
           "executor": args.executor, "flow_run_s": round(flow_s, 3),
           "record_bytes": record.stat().st_size,
           "first_run_page_load_s": round(first, 3),
           "run_page_load_s": [round(t, 3) for t in loads],
           "median_run_page_load_s": round(statistics.median(loads), 3),
           "runs": args.runs + 1, "runs_written_s": round(many_s, 3),
           "first_runs_list_load_s": round(first_list, 3),
           **{f"median_runs_list_{k}_load_s": round(v, 3) for k, v in lists.items()},
           "run_page_bytes": html_bytes, "run_json_bytes": json_bytes, **versions()}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
