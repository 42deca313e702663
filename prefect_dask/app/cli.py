"""``prefect-dask``: run flows from files, list and show recorded runs, resume a run.

    prefect-dask run path/to/file.py:flow_name [--param k=v ...] [--executor threads]
    prefect-dask run --prefect1 path/to/prefect1_program.py[:flow_name]
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
import contextlib
import datetime
import json
import logging
import os
import re
import runpy
import signal
import sys
from typing import Any

from .. import signals
from ..errors import PrefectDaskError
from ..store.records import find_run

__all__ = ["main", "load_flow", "UsageError"]


class UsageError(Exception):
    """A mistake in the command line (exit status 2)."""


def load_flow(spec: str, prefect1: bool = False) -> Any:
    """The Flow named in ``path/to/file.py:flow_name`` (or the file's only Flow).

    ``prefect1=True``: the file is an unchanged Prefect 1 program; its ``import prefect``
    is served by prefect_dask (see ``prefect_dask.compat``)."""
    from ..flow import Flow

    path, _, name = spec.partition(":")
    if prefect1:
        from ..compat import serve_prefect

        serve_prefect()
    if not os.path.isfile(path):
        raise UsageError(f"prefect-dask: no such file {path!r}")
    try:
        namespace = runpy.run_path(path, run_name="__prefect_dask_cli__")
    except ModuleNotFoundError as exc:
        if prefect1 or (exc.name or "").split(".")[0] != "prefect":
            raise UsageError(_load_error(path, exc)) from None
        raise UsageError(f"prefect-dask: {path} imports {exc.name!r}: if it is a Prefect 1 "
                         f"program, add --prefect1 (prefect-dask run --prefect1 {spec})") from None
    except (Exception, signals.PrefectSignal) as exc:   # the file's own code failed (a
        # signal too: signals are BaseExceptions): show its frames, not ours
        raise UsageError(_load_error(path, exc)) from None
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


def _load_error(path: str, exc: BaseException) -> str:
    """What went wrong while the flow file ran, with the traceback from its first frame."""
    from ..utilities.logging import format_traceback

    return (f"prefect-dask: {path} raised an error while it was loaded (before any flow "
            f"ran):\n{format_traceback(exc, first=os.path.abspath(path))}")


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


def _executor(args: argparse.Namespace) -> Any:
    """The executor the options ask for; options that do not go together are refused.

    ``--address`` (or Dask's own ``DASK_SCHEDULER_ADDRESS`` / ``scheduler-address`` config,
    for ``--executor dask``) connects to a running scheduler; ``--workers`` sizes a pool or
    a LocalCluster, ``--threads`` a LocalCluster worker."""
    from ..executors import DaskExecutor, canonical_name, get_executor

    name = canonical_name(args.executor or ("dask" if args.address else "local"))
    workers, threads = getattr(args, "workers", None), getattr(args, "threads", None)
    if args.address and name != "dask":
        raise UsageError(f"prefect-dask: --address connects to a Dask scheduler, but "
                         f"--executor is {args.executor!r}; use --executor dask (or leave "
                         "--executor out)")
    if name == "dask":
        import dask

        address = args.address or dask.config.get("scheduler-address", None)
        if address and (workers or threads):
            raise UsageError("prefect-dask: --workers/--threads size a cluster this command "
                             f"starts; the cluster at {address} is already running (leave "
                             "them out, or leave out --address and DASK_SCHEDULER_ADDRESS)")
        if address:
            return DaskExecutor(address=address)
        kwargs = {k: v for k, v in (("n_workers", workers), ("threads_per_worker", threads))
                  if v}
        return DaskExecutor(cluster_kwargs=kwargs) if kwargs else DaskExecutor()
    if threads:
        raise UsageError(f"prefect-dask: --threads sets the threads of each Dask worker; with "
                         f"--executor {name} use --workers")
    if workers and name in ("local", "sync"):
        raise UsageError(f"prefect-dask: the {name} executor runs one task at a time in this "
                         "process; --workers needs --executor threads, processes or dask")
    return get_executor(name, num_workers=workers) if workers else get_executor(name)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _run_id(flow_name: str) -> str | None:
    """The id of the run of ``flow_name`` this process made last."""
    for r in _history().runs(flow=flow_name, limit=50):
        if r.get("pid") == os.getpid():
            return r["run_id"]
    return None


def _finish(flow: Any, run: Any, file_spec: str) -> int:
    """Run the flow (``run()``), then say how it ended and how to look at it.

    Exit status 0 on success, 1 on failure, 130 on Ctrl-C (the run is cancelled and
    recorded; no traceback)."""
    try:
        state = run()
    except KeyboardInterrupt:
        rid = _run_id(flow.name)
        short = rid[:8] if rid else "last"
        print(f"\ninterrupted; run {short} cancelled; resume with:\n  prefect-dask resume "
              f"{short} --file {file_spec}", file=sys.stderr)
        return 130
    rid = _run_id(flow.name)
    print(f"Flow run {type(state).__name__}: {state.message}")
    if rid:
        print(f"Run {rid}\n  see it:    prefect-dask runs show {rid[:8]}\n"
              f"  its logs:  prefect-dask runs logs {rid[:8]} [--task NAME]\n"
              f"  report:    prefect-dask report {rid[:8]}")
        if not state.is_successful():
            print(f"  resume it: prefect-dask resume {rid[:8]} --file {file_spec}")
    return 0 if state.is_successful() else 1


@contextlib.contextmanager
def _started(executor: Any) -> Any:
    """``executor`` started with Ctrl-C ignored, lent to the run (``Started``).

    Processes it starts (a LocalCluster's nannies and workers) inherit the ignored
    SIGINT, so a Ctrl-C in the terminal, which reaches the whole process group, stops only
    this process: the run is cancelled cleanly instead of every worker printing a
    KeyboardInterrupt traceback."""
    from ..executors.base import Started

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        executor.__enter__()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        yield Started(executor)
    finally:
        executor.__exit__(None, None, None)


def cmd_run(args: argparse.Namespace) -> int:
    executor = _executor(args)      # option errors before the file runs
    flow = load_flow(args.flow, prefect1=args.prefect1)
    params = _params(args.param)
    missing = sorted(p.name for p in flow.parameters() if p.required and p.name not in params)
    if missing:
        raise UsageError(f"prefect-dask: flow {flow.name!r} needs a value for parameter(s) "
                         f"{', '.join(map(repr, missing))}; pass "
                         + " ".join(f"--param {m}=VALUE" for m in missing))
    def run() -> Any:
        with _started(executor) as started:
            return flow.run(parameters=params, executor=started)

    return _finish(flow, run, args.flow)


def cmd_resume(args: argparse.Namespace) -> int:
    record = find_run(_history().resolve(args.run_id))
    if not args.file:
        raise UsageError(f"prefect-dask: give the flow's file: prefect-dask resume {args.run_id} "
                         f"--file path/to/file.py:{record['flow']}")
    executor = _executor(args)
    flow = load_flow(args.file)
    def run() -> Any:
        with _started(executor) as started:
            return flow.run(resume=record["run_id"], executor=started)

    return _finish(flow, run, args.file)


def _history() -> Any:
    from ..store.history import History

    return History()


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _seconds(text: str, option: str) -> float:
    """``30m``, ``12h``, ``7d``, ``2w`` (or plain seconds) as seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text or "")
    if not m:
        raise UsageError(f"prefect-dask: {option} {text!r} is not a duration; write it like "
                         "30m, 12h, 7d or 2w")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def _since(text: str | None) -> float | None:
    """``--since``: a duration back from now (``2h``, ``7d``) or a date/time (ISO 8601)."""
    if text is None:
        return None
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return datetime.datetime.now().timestamp() - _seconds(text, "--since")
    return when.timestamp()


def _took(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes}m{sec:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def executor_name(text: str | None) -> str:
    """The short name of a recorded executor (its repr).

    >>> executor_name("LocalDaskExecutor(scheduler='processes', num_workers=2)")
    'processes'
    >>> executor_name("DaskExecutor(address='tcp://127.0.0.1:8786')")
    'dask'
    """
    text = text or "-"
    m = re.search(r"scheduler='(\w+)'", text)
    if text.startswith("LocalDaskExecutor") and m:
        return m.group(1)
    return {"LocalExecutor": "local", "DaskExecutor": "dask"}.get(text.split("(")[0], text[:10])


def cmd_runs_list(args: argparse.Namespace) -> int:
    runs = _history().runs(flow=args.flow, state=args.state, since=_since(args.since),
                           limit=args.limit)
    if args.json:
        print(json.dumps(runs, indent=1))
        return 0
    if not runs:
        print("No runs recorded yet." if not (args.flow or args.state or args.since)
              else "No recorded run matches.")
        return 0
    # 79 columns: full ids, times and everything else are in --json
    print(f"{'RUN':8} {'FLOW':15} {'STATE':10} {'STARTED':11} {'TOOK':>7} {'EXECUTOR':9} "
          f"{'TASKS':>6} FAILED")
    for r in runs:
        print(f"{r['run_id'][:8]:8} {str(r['flow'])[:15]:15} {str(r['state'])[:10]:10} "
              f"{_when(r['started'])[5:16]:11} {_took(r['duration']):>7} "
              f"{executor_name(r['executor'])[:9]:9} {r['task_runs']:>6} {r['failed']}")
    return 0


def _print_traceback(text: str | None, indent: str = "      ") -> None:
    for line in (text or "").rstrip().splitlines():
        print(indent + line)


def cmd_runs_show(args: argparse.Namespace) -> int:
    h = _history()
    r = h.run(args.run_id)
    rid = r["run_id"]
    print(f"Run {rid} of flow {r['flow']!r}: {r['state']}"
          + (f" ({r['message']})" if r.get("message") else ""))
    print(f"  started {_when(r['started'])}, "
          + (f"took {_took(r['duration'])}" if r["ended"]
             else f"not finished ({_took(r['duration'])} so far)")
          + f", on {executor_name(r['executor'])}")
    so_far = f" of {r['expected']}" if not r["ended"] and r["expected"] else ""
    print(f"  {r['task_runs']}{so_far} task runs{' so far' if not r['ended'] else ''}, "
          f"{r['failed']} did not succeed")
    print(f"  parameters: {r['parameters']}")
    print()
    for t in h.tasks(rid, helpers=False):
        took = t["finished"] - t["started"] if t["finished"] and t["started"] else None
        state = t["state"] or ("Running" if not r["ended"] else "unfinished")
        line = f"  {t['slug']:30} {state:14}"
        if t["attempts"]:
            line += f" attempts={t['attempts']}"
        if took is not None:
            line += f" {took:.3f}s"
        print(line)
        if t["width"]:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(t["counts"].items()))
            print(f"      children: {counts}")
    failures = h.failures(rid)
    if failures:
        print("\nFailures (by task and exception; one traceback each):")
    for g in failures:
        shown = g["map_indexes"][:5]
        where = f"{g['name']}[{', '.join(map(str, shown))}" \
            f"{', ...' if g['n'] > len(shown) else ''}]" if shown else g["name"]
        print(f"  {g['n']} x {g['state']}{' ' + g['exception'] if g['exception'] else ''} "
              f"in {where}:\n      {g['message']}")
        _print_traceback(g["traceback"])
    logs = h.logs(rid, level=args.level, limit=args.logs + 1)
    if logs and args.logs:
        print(f"\nLogs{' (the first ' + str(args.logs) + ')' if len(logs) > args.logs else ''}:")
        for rec in logs[:args.logs]:
            _print_log(rec)
    print(f"\nMore: prefect-dask runs logs {rid[:8]} [--task NAME]\n"
          f"      prefect-dask report {rid[:8]}")
    return 0


def _print_log(rec: dict) -> None:
    level = logging.getLevelName(rec["level"] or 0)
    name = (rec["logger"] or "").removeprefix("prefect_dask.")
    where = "" if name in ("TaskRunner", "prefect_dask") else f"{name} | "
    print(f"  {_when(rec['created'])[11:]} {level:7} {where}{rec['message']}")
    if rec.get("exc_text"):
        _print_traceback(rec["exc_text"], "    ")


def cmd_runs_logs(args: argparse.Namespace) -> int:
    h = _history()
    rid = h.resolve(args.run_id)
    if args.task is not None and not any(args.task in (t["slug"], t["name"])
                                         for t in h.tasks(rid)):
        names = sorted({t["name"] for t in h.tasks(rid)})
        raise UsageError(f"prefect-dask: run {rid[:8]} has no task {args.task!r}; its tasks: "
                         f"{', '.join(names)}")
    for rec in h.logs(rid, task=args.task, level=args.level):
        _print_log(rec)
    return 0


def cmd_runs_prune(args: argparse.Namespace) -> int:
    from ..store.caching import prune_cache
    from ..results import home

    older = _seconds(args.older_than, "--older-than")
    runs = _history().prune(older, dry_run=args.dry_run)
    verb = "Would delete" if args.dry_run else "Deleted"
    print(f"{verb} {len(runs)} run record(s) older than {args.older_than}.")
    files = sum(r["checkpoints"] for r in runs)
    print(f"{verb} {files} checkpoint file(s) of those runs (in {home() / 'results'}).")
    entries = prune_cache(older, dry_run=args.dry_run)
    print(f"{verb} {entries} cache entr{'y' if entries == 1 else 'ies'} older than "
          f"{args.older_than}.")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import benchmark, environment, format_table, plot
    from ..errors import ExecutorError
    from ..executors import canonical_name, known_executors

    names = [canonical_name(e.strip()) for e in args.executors.split(",") if e.strip()]
    unknown = [n for n in names if n not in known_executors()]
    if unknown:   # before the flow file runs, let alone a cluster starts
        raise ExecutorError(f"bench: unknown executor(s) {', '.join(map(repr, unknown))}; "
                            f"known executors: {', '.join(known_executors())}.")
    flow = load_flow(args.flow)
    records = benchmark(flow, names, repeat=args.repeat, parameters=_params(args.param))
    print(format_table(records))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"benchmark": "prefect-dask bench", "environment": environment(),
                       "records": records}, fh, indent=1)
        print(f"Wrote {args.out}")
    if args.plot:
        plot(records, args.plot)
        print(f"Wrote {args.plot}")
    failed = [f"{r['executor']} ({', '.join(sorted(set(r['states']) - {'Success'}))})"
              for r in records if any(st != "Success" for st in r["states"])]
    if failed:
        print(f"prefect-dask bench: the flow did not succeed on {', '.join(failed)}; the "
              "timings are of failed runs", file=sys.stderr)
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import html_report

    h = _history()
    run_id = h.resolve(args.run_id)
    page = html_report(h, run_id)
    out = args.output or f"report-{run_id[:8]}.html"
    with open(out, "w") as fh:
        fh.write(page)
    print(f"Wrote {out}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from .ui import serve

    if args.home:
        os.environ["PREFECT_DASK_HOME"] = args.home
    serve(args.host, args.port, args.token)
    return 0


def _level(text: str) -> int:
    value = logging.getLevelName(text.upper()) if not text.isdigit() else int(text)
    if not isinstance(value, int):
        raise argparse.ArgumentTypeError(f"{text!r} is not a log level (DEBUG, INFO, WARNING, "
                                         "ERROR)")
    return value


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", help="local (default) | threads | processes | dask "
                        "(any case)")
    parser.add_argument("--address", help="a running Dask scheduler, e.g. "
                        "tcp://127.0.0.1:8786 (implies --executor dask; with --executor dask "
                        "and no --address, DASK_SCHEDULER_ADDRESS is used if set)")
    parser.add_argument("--workers", type=_positive, help="threads (threads executor) or "
                        "processes (processes executor, or the workers of the Dask "
                        "LocalCluster started for --executor dask)")
    parser.add_argument("--threads", type=_positive, help="threads per worker of the Dask "
                        "LocalCluster started for --executor dask")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("prefect_dask")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="prefect-dask", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version",
                    version=f"prefect-dask {_version()} (Python {sys.version.split()[0]})")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="run a flow from a file",
        description="Run a flow defined in a Python file (the file's `if __name__ == "
        "'__main__'` block does not run). For an unchanged Prefect 1 program add --prefect1: "
        "its `import prefect` is then served by prefect_dask. To run a whole Prefect 1 "
        "program as `python FILE` would, use `python -m prefect_dask.compat FILE [ARGS...]`.")
    run.add_argument("flow", help="path/to/file.py:flow_name (the name may be left out when "
                     "the file has one Flow)")
    run.add_argument("--prefect1", action="store_true",
                     help="the file is a Prefect 1 program: serve its `import prefect` "
                     "(and prefect.* paths) from prefect_dask")
    run.add_argument("--param", action="append", default=[], help="name=value (JSON or text)")
    _executor_options(run)
    run.set_defaults(func=cmd_run)
    resume = sub.add_parser("resume", help="re-run what did not succeed in a recorded run")
    resume.add_argument("run_id", help='a run id, or "last"')
    resume.add_argument("--file", help="path/to/file.py:flow_name holding the flow")
    _executor_options(resume)
    resume.set_defaults(func=cmd_resume)
    runs = sub.add_parser("runs", help="recorded flow runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    ls = runs_sub.add_parser("list", help="recent runs, newest first")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--flow", help="only runs of this flow")
    ls.add_argument("--state", help="only runs in this state (Success, Failed, Running, ...)")
    ls.add_argument("--since", help="only runs started since: 2h, 7d or a date (2026-11-30)")
    ls.add_argument("--json", action="store_true", help="print the runs as JSON")
    ls.set_defaults(func=cmd_runs_list)
    show = runs_sub.add_parser("show", help="one run's tasks, states, timings, failures, logs")
    show.add_argument("run_id", help='a run id, a unique prefix of one, or "last"')
    show.add_argument("--logs", type=int, default=20, metavar="N",
                      help="show the first N log lines (default 20; 0: none)")
    show.add_argument("--level", type=_level, default=logging.INFO,
                      help="the least level of log lines shown (default INFO)")
    show.set_defaults(func=cmd_runs_show)
    logs = runs_sub.add_parser("logs", help="a run's log lines (of one task)")
    logs.add_argument("run_id", help='a run id, a unique prefix of one, or "last"')
    logs.add_argument("--task", help="only this task's lines (its name or slug)")
    logs.add_argument("--level", type=_level, default=logging.NOTSET,
                      help="the least level shown (DEBUG, INFO, WARNING, ERROR)")
    logs.set_defaults(func=cmd_runs_logs)
    prune = runs_sub.add_parser(
        "prune", help="delete old run records, their checkpoints and old cache entries",
        description="Deletes the records of ended runs started before AGE, the checkpoints "
                    "those runs wrote under $PREFECT_DASK_HOME/results/<flow>/<task>/<run "
                    "id>/ (not those a kept run resumed from; results a task's target=, a "
                    "Result's location= or dir= put elsewhere are never touched), and cache "
                    "entries written before AGE. Running runs are kept.")
    prune.add_argument("--older-than", required=True, metavar="AGE",
                       help="delete ended runs started before this age (30m, 12h, 7d, 2w), "
                            "their checkpoints, and cache entries written before it")
    prune.add_argument("--dry-run", action="store_true", help="only say what would go")
    prune.set_defaults(func=cmd_runs_prune)
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
                    help="address to bind (any but a loopback one needs --token)")
    ui.add_argument("--port", type=int, default=8765, help="port (0: a free one)")
    ui.add_argument("--home", help="the PREFECT_DASK_HOME to read (default: the environment's)")
    ui.add_argument("--token", default=os.environ.get("PREFECT_DASK_UI_TOKEN"),
                    help="a secret every request must carry (?token= once); default: "
                         "$PREFECT_DASK_UI_TOKEN, which other users cannot see in `ps`")
    ui.set_defaults(func=cmd_ui)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:   # `prefect-dask runs show last | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())   # so the final flush at exit cannot fail
        return 141
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (PrefectDaskError, ValueError, TypeError) as exc:  # flow.run's argument errors
        print(f"prefect-dask: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
