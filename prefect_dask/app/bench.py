"""``benchmark()`` and ``prefect-dask bench``: time a flow on several executors.

Every executor name is checked before anything runs.  Each executor is started
once (its start-up timed apart: a cluster takes seconds to start), the flow runs
once unmeasured (warm-up: imports, pools, caches), then ``repeat`` times on it.  Each record:
executor, start-up seconds, wall times (median, min, max), task runs (mapped
children included) and task runs per second, peak RSS of the driver and, on a
Dask cluster, of each worker.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ExecutorError
from ..executors import get_executor
from ..executors.base import Started
from ..states import Mapped

__all__ = ["benchmark", "format_table", "environment"]


def environment() -> dict[str, Any]:
    """What the numbers were measured with: versions and the machine."""
    import os
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"python": platform.python_version(), "prefect_dask": v("prefect_dask"),
            "dask": v("dask"), "distributed": v("distributed"),
            "cloudpickle": v("cloudpickle"), "platform": platform.platform(),
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "memory_gib": _memory_gib()}


def _memory_gib() -> float | None:
    import os

    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _task_runs(state: Any) -> int:
    return sum(1 + (len(s.map_states) if isinstance(s, Mapped) else 0)
               for s in (state.result or {}).values())


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _worker_rss(executor: Any) -> dict[str, float] | None:
    client = getattr(executor, "client", None)
    if client is None:
        return None
    try:
        import psutil
    except ImportError:
        return None
    return {w: round(rss / 2**20, 1) for w, rss in
            client.run(lambda: psutil.Process().memory_info().rss).items()}


def benchmark(flow: Any, executors: Iterable[Any] = ("local", "threads"), repeat: int = 3,
              parameters: Mapping[str, Any] | None = None,
              progress: bool = True) -> list[dict[str, Any]]:
    """Run ``flow`` ``repeat`` times on each executor (names or objects), after a warm-up
    run; one record each.  Unknown executor names are an error before anything runs."""
    from ..executors import canonical_name, known_executors

    executors = list(executors)
    unknown = [e for e in executors if isinstance(e, str) and
               canonical_name(e) not in known_executors()]
    if unknown:
        raise ExecutorError(f"bench: unknown executor(s) {', '.join(map(repr, unknown))}; "
                            f"known executors: {', '.join(known_executors())}.")
    records = []
    for spec in executors:
        executor = get_executor(spec) if isinstance(spec, str) else spec
        name = spec if isinstance(spec, str) else repr(spec)
        if progress:
            print(f"bench: starting {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            executor.__enter__()
        except Exception as exc:
            raise ExecutorError(f"bench: executor {name!r} could not start: {exc}") from exc
        startup = time.perf_counter() - t0
        walls, runs, states = [], 0, []
        try:
            t0 = time.perf_counter()
            warm = flow.run(parameters=dict(parameters or {}), executor=Started(executor),
                            progress=False, log_level="WARNING")
            warmup = time.perf_counter() - t0
            if progress:
                print(f"bench: {name} warm-up: {warmup:.3f} s ({type(warm).__name__})",
                      file=sys.stderr, flush=True)
            for i in range(repeat):
                t0 = time.perf_counter()
                state = flow.run(parameters=dict(parameters or {}), executor=Started(executor),
                                 progress=False, log_level="WARNING")
                walls.append(time.perf_counter() - t0)
                runs = _task_runs(state)
                states.append(type(state).__name__)
                if progress:
                    print(f"bench: {name} run {i + 1}/{repeat}: {walls[-1]:.3f} s "
                          f"({type(state).__name__})", file=sys.stderr, flush=True)
            workers = _worker_rss(executor)
        finally:
            executor.__exit__(None, None, None)
        med = statistics.median(walls)
        records.append({
            "flow": flow.name, "executor": name, "repeat": repeat,
            "startup_s": round(startup, 4), "warmup_s": round(warmup, 4),
            "wall_s": [round(w, 4) for w in walls],
            "median_s": round(med, 4), "min_s": round(min(walls), 4),
            "max_s": round(max(walls), 4), "task_runs": runs,
            "task_runs_per_s": round(runs / med, 1) if med else None,
            "driver_peak_rss_mib": _rss_mib(), "worker_rss_mib": workers, "states": states,
        })
    return records


def format_table(records: list[dict[str, Any]]) -> str:
    """The records as a fixed-width table."""
    head = f"{'executor':12} {'median s':>9} {'min s':>8} {'max s':>8} {'start-up s':>10} " \
           f"{'runs/s':>10} {'driver MiB':>10}"
    lines = [head]
    for r in records:
        lines.append(f"{r['executor'][:12]:12} {r['median_s']:9.3f} {r['min_s']:8.3f} "
                     f"{r['max_s']:8.3f} {r['startup_s']:10.3f} {r['task_runs_per_s'] or 0:10.1f} "
                     f"{r['driver_peak_rss_mib']:10.1f}")
    return "\n".join(lines)


def plot(records: list[dict[str, Any]], path: str) -> None:
    """A bar chart of median wall time per executor (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ExecutorError("--plot needs matplotlib: pip install 'prefect_dask[plot]'") from None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([r["executor"] for r in records], [r["median_s"] for r in records],
           yerr=[[r["median_s"] - r["min_s"] for r in records],
                 [r["max_s"] - r["median_s"] for r in records]], capsize=4)
    ax.set_ylabel("wall time (s), median with min-max")
    ax.set_title(f"flow {records[0]['flow']!r}" if records else "")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
