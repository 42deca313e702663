"""``prefect-dask``: run flows from files, list and show recorded runs, resume a run.

    prefect-dask run path/to/file.py:flow_name [--param k=v ...] [--executor threads]
    prefect-dask runs list
    prefect-dask runs show RUN_ID
    prefect-dask resume RUN_ID [--file path/to/file.py:flow_name]
    prefect-dask report RUN_ID [-o report.html]
    prefect-dask bench path/to/file.py:flow_name --executors local,threads [--repeat 3]
    prefect-dask ui [--host 127.0.0.1] [--port 8765] [--home DIR] [--token SECRET]

The exit status is 0 when the flow run succeeded, 1 when it failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import runpy
import sys
from typing import Any

from .errors import PrefectDaskError
from .records import find_run, list_runs

__all__ = ["main", "load_flow", "UsageError"]


class UsageError(Exception):
    """A mistake in the command line (exit status 2)."""


def load_flow(spec: str) -> Any:
    """The Flow named in ``path/to/file.py:flow_name`` (or the file's only Flow)."""
    from .flow import Flow

    path, _, name = spec.partition(":")
    try:
        namespace = runpy.run_path(path, run_name="__prefect_dask_cli__")
    except FileNotFoundError:
        raise UsageError(f"prefect-dask: no such file {path!r}") from None
    flows = {k: v for k, v in namespace.items() if isinstance(v, Flow)}
    if name:
        if name not in flows:
            raise UsageError(f"prefect-dask: {path} has no Flow named {name!r}; it has: "
                             f"{', '.join(sorted(flows)) or 'none'}")
        return flows[name]
    if len(flows) != 1:
        raise UsageError(f"prefect-dask: {path} has {len(flows)} flows "
                         f"({', '.join(sorted(flows)) or 'none'}); name one: {path}:NAME")
    return next(iter(flows.values()))


def _params(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise UsageError(f"prefect-dask: --param {pair!r} must look like name=value")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def _executor(name: str, address: str | None) -> Any:
    from .executors import DaskExecutor, get_executor

    if address:
        return DaskExecutor(address=address)
    return get_executor(name)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _summary(state: Any) -> int:
    print(f"Flow run {type(state).__name__}: {state.message}")
    return 0 if state.is_successful() else 1


def cmd_run(args: argparse.Namespace) -> int:
    flow = load_flow(args.flow)
    state = flow.run(parameters=_params(args.param), executor=_executor(args.executor,
                                                                        args.address))
    return _summary(state)


def cmd_resume(args: argparse.Namespace) -> int:
    record = find_run(args.run_id)
    if not args.file:
        raise UsageError(f"prefect-dask: give the flow's file: prefect-dask resume {args.run_id} "
                         f"--file path/to/file.py:{record['flow']}")
    flow = load_flow(args.file)
    state = flow.run(resume=record["run_id"], executor=_executor(args.executor, args.address))
    return _summary(state)


def cmd_runs_list(args: argparse.Namespace) -> int:
    runs = list_runs(args.limit)
    if not runs:
        print("No runs recorded yet.")
        return 0
    print(f"{'RUN ID':36}  {'FLOW':20}  {'STATE':12}  STARTED")
    for r in runs:
        print(f"{r['run_id']:36}  {str(r['flow'])[:20]:20}  {str(r['state'] or 'unfinished'):12}"
              f"  {_when(r.get('started'))}")
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    r = find_run(args.run_id)
    print(f"Run {r['run_id']} of flow {r['flow']!r}: {r['state'] or 'unfinished (no end entry)'}"
          f" {r.get('message') or ''}")
    print(f"  parameters: {r.get('parameters')}  executor: {r.get('executor')}")
    print(f"  started {_when(r.get('started'))}, finished {_when(r.get('finished'))}")
    for slug, t in r["tasks"].items():
        took = (t["finished"] - t["started"]) if t.get("finished") and t.get("started") else None
        line = f"  {slug:30} {str(t.get('state')):14} attempts={t.get('attempts', '-')}"
        if took is not None:
            line += f" {took:.3f}s"
        print(line)
        if t.get("state") not in ("Success", "Cached", "Mapped", "Skipped") and t.get("message"):
            print(f"      {t['message']}")
        children = t.get("children") or {}
        if children:
            counts: dict[str, int] = {}
            for c in children.values():
                counts[c["state"]] = counts.get(c["state"], 0) + 1
            print("      children: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
            for i, c in sorted(children.items()):
                if c["state"] not in ("Success", "Cached", "Skipped") and c.get("message"):
                    print(f"      [{i}] {c['state']}: {c['message']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import benchmark, format_table, plot

    flow = load_flow(args.flow)
    records = benchmark(flow, [e.strip() for e in args.executors.split(",") if e.strip()],
                        repeat=args.repeat, parameters=_params(args.param))
    print(format_table(records))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"benchmark": "prefect-dask bench", "records": records}, fh, indent=1)
        print(f"Wrote {args.out}")
    if args.plot:
        plot(records, args.plot)
        print(f"Wrote {args.plot}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import html_report

    record = find_run(args.run_id)
    out = args.output or f"report-{record['run_id']}.html"
    with open(out, "w") as fh:
        fh.write(html_report(record))
    print(f"Wrote {out}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    import os

    from .ui import serve

    if args.home:
        os.environ["PREFECT_DASK_HOME"] = args.home
    serve(args.host, args.port, args.token)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="prefect-dask", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a flow from a file")
    run.add_argument("flow", help="path/to/file.py:flow_name")
    run.add_argument("--param", action="append", default=[], help="name=value (JSON or text)")
    run.add_argument("--executor", default="local", help="local | threads | processes | dask")
    run.add_argument("--address", help="a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    run.set_defaults(func=cmd_run)
    resume = sub.add_parser("resume", help="re-run what did not succeed in a recorded run")
    resume.add_argument("run_id", help='a run id, or "last"')
    resume.add_argument("--file", help="path/to/file.py:flow_name holding the flow")
    resume.add_argument("--executor", default="local")
    resume.add_argument("--address")
    resume.set_defaults(func=cmd_resume)
    runs = sub.add_parser("runs", help="recorded flow runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    ls = runs_sub.add_parser("list", help="recent runs, newest first")
    ls.add_argument("--limit", type=int, default=20)
    ls.set_defaults(func=cmd_runs_list)
    show = runs_sub.add_parser("show", help="one run's tasks, states, timings and errors")
    show.add_argument("run_id", help='a run id, or "last"')
    show.set_defaults(func=cmd_runs_show)
    bench = sub.add_parser("bench", help="time a flow on several executors")
    bench.add_argument("flow", help="path/to/file.py:flow_name")
    bench.add_argument("--executors", default="local,threads",
                       help="comma-separated: local,threads,processes,dask")
    bench.add_argument("--param", action="append", default=[], help="name=value")
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--out", help="write the records as JSON here")
    bench.add_argument("--plot", help="write a bar chart here (needs matplotlib)")
    bench.set_defaults(func=cmd_bench)
    report = sub.add_parser("report", help="a self-contained HTML report of a recorded run")
    report.add_argument("run_id", help='a run id, or "last"')
    report.add_argument("-o", "--output", help="the HTML file to write")
    report.set_defaults(func=cmd_report)
    ui = sub.add_parser("ui", help="a read-only web UI over the recorded runs, live")
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to bind (another than 127.0.0.1 needs --token)")
    ui.add_argument("--port", type=int, default=8765, help="port (0: a free one)")
    ui.add_argument("--home", help="the PREFECT_DASK_HOME to read (default: the environment's)")
    ui.add_argument("--token", help="a secret every request must carry (?token= once)")
    ui.set_defaults(func=cmd_ui)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (PrefectDaskError, ValueError, TypeError) as exc:  # flow.run's argument errors
        print(f"prefect-dask: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
