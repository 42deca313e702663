#!/usr/bin/env python
"""Print Markdown tables from the benchmarks' JSON files (BENCHMARKS.md's tables).

    python benchmarks/table.py benchmarks/results/*.json

Each file says which benchmark wrote it (``"benchmark"``); files of ``bench_map``,
``compare_prefect`` and ``bench_history`` become tables, others are named and skipped.
A record that failed (``"error"``) or lacks a number shows ``-`` there instead of
stopping the table.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def cell(record: dict, key: str) -> object:
    value = record.get(key)
    return "-" if value is None else value


def bench_map(docs: list[dict]) -> list[str]:
    rows = ["| workload | executor | prefect_dask (s) | raw Dask graph (s) | ratio "
            "| raw client.map (s) | ratio | µs per task run | peak RSS (MiB) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    machines = set()
    for doc in docs:
        v = doc.get("versions") or {}
        machines.add(f"{v.get('machine', '?')}; Python {v.get('python', '?')}, dask "
                     f"{v.get('dask', '?')}, distributed {v.get('distributed', '?')}; git "
                     f"{v.get('git_rev', '?')}")
        for r in doc.get("records", []):
            if "error" in r:
                rows.append(f"| {r.get('workload')} | {r.get('executor')} | error: "
                            f"{r['error']} | | | | | | |")
                continue
            ours = cell(r, "median_prefect_dask_s")
            if "ideal_s" in r:
                ours = f"{ours} (ideal {r['ideal_s']} s)"
            if "median_raw_client_map_gather_s" in r:
                ours = (f"{ours} (client.map + gather of every result: "
                        f"{r['median_raw_client_map_gather_s']} s, ratio "
                        f"{cell(r, 'ratio_to_client_map_gather')})")
            rss = cell(r, "peak_rss_mib_prefect_dask")
            if r.get("peak_rss_mib_per_worker_prefect_dask"):
                rss = f"{rss} (workers: {', '.join(map(str, r['peak_rss_mib_per_worker_prefect_dask']))})"
            rows.append(f"| {cell(r, 'workload')} | {cell(r, 'executor')} | {ours} "
                        f"| {cell(r, 'median_raw_dask_s')} | {cell(r, 'ratio')} "
                        f"| {cell(r, 'median_raw_client_map_s')} "
                        f"| {cell(r, 'ratio_to_client_map')} "
                        f"| {cell(r, 'us_per_task_prefect_dask')} "
                        f"| {rss} |")
    return rows + [""] + [f"Machine: {m}." for m in sorted(machines)]


def compare_prefect(docs: list[dict]) -> list[str]:
    rows = ["| workload | executor | system | median (s) | × raw Dask |",
            "| --- | --- | --- | --- | --- |"]
    for doc in docs:
        for r in doc.get("records", []):
            rows.append(f"| {cell(r, 'workload')} | {cell(r, 'executor')} | "
                        f"{cell(r, 'system')} | {cell(r, 'median_s')} | "
                        f"{cell(r, 'ratio_to_raw')} |")
    return rows


def bench_history(docs: list[dict]) -> list[str]:
    rows = ["| runs in the history | children per run | runs list (s) | runs show last (s) "
            "| first call after writing them (s) | reading every record (s) |",
            "| --- | --- | --- | --- | --- | --- |"]
    for doc in docs:
        for h in doc.get("homes", {}).values():
            rows.append(f"| {h['runs']} | {doc.get('children')} | "
                        f"{h['runs_list']['median_s']} | {h['runs_show_last']['median_s']} | "
                        f"{h['runs_list']['cold_s']} | {cell(h, 'read_every_record_s')} |")
        rows.append("")
        rows.append(f"Ratio of the biggest to the smallest history: "
                    f"{doc.get('ratio_big_to_small')} (target: within 2x).")
    return rows


TABLES = {"bench_map": bench_map, "compare_prefect": compare_prefect,
          "bench_history": bench_history}


def main(paths: list[str]) -> int:
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        with open(path) as fh:
            doc = json.load(fh)
        kind = doc.get("benchmark") if isinstance(doc, dict) else None
        if kind not in TABLES:
            print(f"(skipped {path}: benchmark {kind!r} has no table here)", file=sys.stderr)
            continue
        by_kind[kind].append(doc)
    for kind, docs in by_kind.items():
        print(f"### {kind}\n")
        print("\n".join(TABLES[kind](docs)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
