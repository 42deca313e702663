#!/usr/bin/env python
"""Print a Markdown table from bench_map.py JSON files (the README's table).

    python benchmarks/table.py benchmarks/results/*.json
"""

import json
import sys


def main(paths):
    rows = ["| workload | executor | prefect_dask (s) | raw Dask graph (s) | ratio | raw client.map (s) "
            "| ratio | µs per task run | peak RSS (MiB) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    machine = None
    for path in paths:
        with open(path) as fh:
            doc = json.load(fh)
        machine = machine or doc["versions"]
        for r in doc["records"]:
            if "error" in r:
                rows.append(f"| {r['workload']} | {r['executor']} | error: {r['error']} | | | | | | |")
                continue
            extra = f" (ideal {r['ideal_s']} s)" if "ideal_s" in r else ""
            if "median_raw_client_map_gather_s" in r:
                extra = (f" (client.map + gather of every result: "
                         f"{r['median_raw_client_map_gather_s']} s, ratio "
                         f"{r['ratio_to_client_map_gather']})")
            rows.append(f"| {r['workload']} | {r['executor']} | {r['median_prefect_dask_s']}{extra} "
                        f"| {r['median_raw_dask_s']} | {r['ratio']} "
                        f"| {r.get('median_raw_client_map_s', '-')} | {r.get('ratio_to_client_map', '-')} "
                        f"| {r['us_per_task_prefect_dask']} | {r['peak_rss_mib_prefect_dask']} |")
    print("\n".join(rows))
    if machine:
        print(f"\nMachine: {machine['machine']}; Python {machine['python']}, dask "
              f"{machine['dask']}, distributed {machine['distributed']}; git {machine['git_rev']}.")


if __name__ == "__main__":
    main(sys.argv[1:])
