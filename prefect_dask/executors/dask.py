"""DaskExecutor: run flows on a Dask cluster (``distributed`` is imported here only)."""

from __future__ import annotations

import importlib
import logging
import uuid
from functools import partial
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..errors import ExecutorError
from .base import NodeError, OnResult, with_held

__all__ = ["DaskExecutor"]

logger = logging.getLogger("prefect_dask.executors")


def _import_class(spec: Any) -> Any:
    if not isinstance(spec, str):
        return spec
    module, _, name = spec.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ExecutorError(
            f"DaskExecutor(cluster_class={spec!r}): cannot import it ({exc}). Give a class or "
            "a 'package.module.ClassName' string of an installed package, e.g. "
            "'dask_jobqueue.SLURMCluster'."
        ) from None


class DaskExecutor:
    """Run on a Dask cluster: an existing one (``address``) or one it starts and stops.

    - ``address="tcp://host:8786"``: connect to a running scheduler.
    - otherwise ``cluster_class(**cluster_kwargs)`` (a class or an import string such as
      ``"dask_jobqueue.SLURMCluster"``; default ``distributed.LocalCluster``), with
      ``cluster.adapt(**adapt_kwargs)`` when given.
    - ``client_kwargs`` go to ``distributed.Client`` (e.g. ``security=...`` for TLS).
    - ``connect_timeout``: seconds to reach the scheduler.  If the scheduler is lost mid-run,
      the tasks that did not finish end Crashed and the run returns.
    - ``results_on_cluster=True``: results of at least ``LEAVE_BYTES`` stay on the workers;
      the driver gets States that fetch one when its ``.result`` is read.  The executor
      then stays started after ``flow.run`` returns, until ``close()`` (or the end of your
      own ``with executor:`` block around ``flow.run``).

    Entered again while started (flow.run inside your own ``with``), it stays started.
    """

    needs_pickle = True
    on_cluster = True   # takes annotations, views and keep (see executors.base)
    FETCH_BYTES = 16 * 2**20   # at most this much in one request for finished nodes' values

    def __init__(self, address: str | None = None, cluster_class: Any = None,
                 cluster_kwargs: dict | None = None, adapt_kwargs: dict | None = None,
                 client_kwargs: dict | None = None, debug: bool = False,
                 performance_report_path: str | None = None, connect_timeout: float = 10,
                 results_on_cluster: bool = False) -> None:
        if address is not None and cluster_class is not None:
            raise ExecutorError(
                "DaskExecutor: give either address= (connect to a running scheduler) or "
                "cluster_class= (start a cluster), not both."
            )
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = adapt_kwargs
        self.client_kwargs = dict(client_kwargs or {})
        self.debug = debug
        self.performance_report_path = performance_report_path
        self.connect_timeout = connect_timeout
        self.results_on_cluster = results_on_cluster
        self._entered = 0      # nested `with` blocks: only the outermost starts and stops
        self._lent = False     # results were left on the cluster by a run in the outermost
        self.client: Any = None
        self._cluster: Any = None
        self._kept: dict[Any, Any] = {}   # our key -> Future of a finished node (data stays)
        self._report: Any = None
        self.dashboard_link: str | None = None   # set on entering, when the scheduler shows one

    @property
    def workers(self) -> int:
        """Threads across the cluster's workers (at least 1)."""
        if self.client is None:
            return 1
        return max(1, sum(w.get("nthreads", 1) for w in self._worker_info()))

    def _worker_info(self) -> list[dict]:
        """What the scheduler knows of each worker (threads, resources...)."""
        info = self.client.scheduler_info(n_workers=-1) if _takes_n_workers(self.client) \
            else self.client.scheduler_info()
        return list(info.get("workers", {}).values())

    def __enter__(self) -> "DaskExecutor":
        from distributed import Client, LocalCluster

        if self.client is not None:   # started already (by you, or left started)
            self._entered += 1
            return self
        if self.address is not None:
            try:
                self.client = Client(self.address, timeout=self.connect_timeout,
                                     **self.client_kwargs)
            except (OSError, TimeoutError) as exc:
                raise ExecutorError(
                    f"DaskExecutor could not reach a Dask scheduler at {self.address!r} within "
                    f"{self.connect_timeout:g} s ({exc}). Check the address and that "
                    "`dask scheduler` is running there."
                ) from None
            except (TypeError, ValueError) as exc:
                hint = (" A tls:// address needs client_kwargs={'security': "
                        "distributed.security.Security(...)}." if self.address.startswith("tls")
                        else "")
                raise ExecutorError(
                    f"DaskExecutor could not connect to {self.address!r}: {exc}.{hint}"
                ) from None
        else:
            cls = _import_class(self.cluster_class) or LocalCluster
            kwargs = dict(self.cluster_kwargs)
            if cls is LocalCluster:
                kwargs.setdefault("silence_logs", logging.ERROR if not self.debug else logging.INFO)
                kwargs.setdefault("dashboard_address", ":0")  # never clash on port 8787
            self._cluster = cls(**kwargs)
            if self.adapt_kwargs is not None:
                self._cluster.adapt(**self.adapt_kwargs)
            self.client = Client(self._cluster, **self.client_kwargs)
        link = getattr(self.client, "dashboard_link", None)
        try:   # the dashboard's pages and the performance report need bokeh
            bokeh = self.client.run_on_scheduler(_bokeh_probe())
        except Exception:   # a scheduler that runs no code of ours: assume it has it
            bokeh = None
        if link and (bokeh is not False or self.address is not None
                     or self.cluster_kwargs.get("dashboard_address")):
            self.dashboard_link = link
            logger.info("Dask dashboard: %s%s", link, "" if bokeh is not False else
                        " (its pages need bokeh on the scheduler: pip install bokeh)")
        if self.performance_report_path:
            if bokeh is False:
                self.close()
                raise ExecutorError(
                    f"DaskExecutor(performance_report_path={self.performance_report_path!r}): "
                    "Dask's performance report needs bokeh where the scheduler runs; install it "
                    "there (pip install bokeh) or leave performance_report_path out.")
            from distributed import performance_report

            self._report = performance_report(filename=self.performance_report_path)
            self._report.__enter__()
        self._entered = 1
        return self

    def release(self, keep: Collection[Any] = ()) -> None:
        """Let the cluster drop the results this executor kept for later stages, but ``keep``."""
        self._kept = {k: f for k, f in self._kept.items() if k in keep}

    def __exit__(self, *exc: Any) -> None:
        self.release()
        self._entered = max(0, self._entered - 1)
        if self._entered:
            return
        if self._lent and (not exc or exc[0] is None) and self.client is not None:
            return   # flow.run left results here and no `with` of yours closes it: close()
        self.close(*exc)

    def close(self, *exc: Any) -> None:
        """Stop the client, and the cluster if this executor started it.  (With
        ``results_on_cluster=True`` results not read by then can no longer be.)"""
        self._entered, self._lent = 0, False
        try:
            if self._report is not None and self.client is not None \
                    and self.client.status == "running":
                self._report.__exit__(*(exc or (None, None, None)))
                self._report = None
        finally:
            if self.client is not None:
                self.client.close()
                self.client = None
                self.dashboard_link = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None

    def _fetch(self, futures: dict) -> dict:
        """The values of finished ``futures`` ({key: future}); a value that can no longer be
        fetched (the scheduler or its worker is gone) is a NodeError.

        Small values come in one request per ``FETCH_BYTES``; big ones one at a time (one
        gather of many big values is slower and needs twice their size in driver memory)."""
        try:
            out: dict = {}
            for group in self._fetch_groups(futures):
                out.update(zip(group, self.client.gather([futures[k] for k in group])))
            return out
        except Exception:
            out = {}
            for key, future in futures.items():
                try:
                    if self.client.status != "running":
                        raise ExecutorError("the client lost the scheduler")
                    out[key] = future.result(timeout=self.connect_timeout)
                except Exception as exc:
                    out[key] = self._cancelled(key, exc)
            return out

    def _fetch_groups(self, futures: dict) -> list[list]:
        """``futures``' keys cut into groups of at most FETCH_BYTES (by the scheduler's sizes)."""
        if len(futures) == 1:
            return [list(futures)]
        nbytes = self.client.nbytes([f.key for f in futures.values() if f.status == "finished"],
                                    summary=False)   # views just submitted count as small
        groups: list[list] = [[]]
        total = 0
        for key, future in futures.items():
            size = nbytes.get(future.key, 0)
            if groups[-1] and total + size > self.FETCH_BYTES:
                groups.append([])
                total = 0
            groups[-1].append(key)
            total += size
        return groups

    def _cancelled(self, key: Any, exc: BaseException | None = None) -> NodeError:
        if self.client.status != "running":
            return self._lost(key)
        why = f"its result could not be fetched ({type(exc).__name__}: {exc})" if exc else \
            "Dask cancelled it after its worker or the data it needed was lost"
        return NodeError(RuntimeError(f"{why} [{key!r}]"), crashed_key=key, reason=(
            f"{why}; its outcome is unknown. Run the flow again."))

    @staticmethod
    def _error(exc: BaseException, untag: Mapping[Any, Any]) -> NodeError:
        """A node that raised: its worker died (KilledWorker names the crashed node) or not."""
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            return NodeError(exc, crashed_key=untag.get(exc.task),
                             worker=getattr(exc.last_worker, "address", None))
        return NodeError(exc)

    def _lost(self, key: Any) -> NodeError:
        where = self.address or getattr(getattr(self.client, "scheduler", None), "address", None)
        exc = ExecutorError(f"The connection to the Dask scheduler ({where}) was lost before "
                            "this task finished.")
        return NodeError(exc, crashed_key=key, reason=(
            f"the connection to the Dask scheduler ({where}) was lost before it finished; its "
            "outcome is unknown. Run the flow again (resume=\"last\" reuses what finished)."))

    def _warn_missing_resources(self, graph: dict, annotations: Mapping[Any, dict]) -> None:
        """Dask holds a task needing worker resources no worker has until one joins: say so."""
        needs = {}
        for key, ann in annotations.items():
            if ann.get("resources") and key in graph:
                needs.setdefault(repr(key[0] if isinstance(key, tuple) else key), ann["resources"])
        if not needs:
            return
        workers = self._worker_info()
        for slug, wanted in needs.items():
            if not any(all(w.get("resources", {}).get(r, 0) >= n for r, n in wanted.items())
                       for w in workers):
                spec = ",".join(f"{r}={n:g}" for r, n in wanted.items())
                logger.warning(
                    "Task %s needs Dask worker resources %s, which no worker of the cluster has "
                    "now; it waits until such a worker joins (e.g. `dask worker %s --resources "
                    "\"%s\"`).", slug, wanted, self.client.scheduler.address, spec)

    def semaphore(self, name: str, n: int) -> Any:
        """A cluster-wide semaphore (``distributed.Semaphore``) for tag concurrency limits."""
        from distributed import Semaphore

        return Semaphore(max_leases=n, name=f"prefect_dask-{name}", scheduler_rpc=None)

    def compute(self, graph: dict, keys: list, held: Mapping[Any, Any],
                on_result: OnResult | None = None,
                annotations: Mapping[Any, dict] | None = None,
                views: Mapping[Any, Callable[[Any], Any]] | None = None,
                keep: Collection[Any] | None = None) -> dict:
        if self.client is None:
            raise ExecutorError(
                f"{self!r} was used outside `with executor:`; pass it to flow.run(executor=...), "
                "which starts and stops it."
            )
        from distributed import as_completed

        if self.client.status != "running":
            return {k: self._lost(k) for k in keys}
        views = views or {}
        source = _ClusterResults(self) if self.results_on_cluster else None
        self._lent = self._lent or (source is not None and self._entered == 1)
        keep = set(graph) if keep is None else set(keep)
        # Keys are global on a scheduler: give this call's keys a fresh suffix so they never
        # meet another flow run's, or an earlier erred attempt's, under the same name.
        tag = uuid.uuid4().hex[:10]
        # Results of earlier stages that are still on the cluster are used where they are;
        # only the others are sent (as data).
        kept = {k: self._kept[k].key for k in held
                if k in self._kept and self._kept[k].status == "finished"}
        send = {k: v for k, v in held.items() if k not in kept}
        subs = {**{k: _tagged(k, tag) for k in (*graph, *send)}, **kept}
        tagged = {subs[k]: node.substitute(subs, key=subs[k])
                  for k, node in with_held(graph, send).items()}
        if annotations:
            self._warn_missing_resources(graph, annotations)
            tagged = _annotated(tagged, {subs[k]: a for k, a in annotations.items()})
        # Each future is dropped once its value is fetched, unless a later stage reads it:
        # the cluster frees what no one needs as soon as its consumers here have run.
        waiting = dict(zip(self.client.get(tagged, [subs[k] for k in keys], sync=False), keys))
        untag = {v: k for k, v in subs.items()}
        out: dict = {}
        try:
            # When the client loses the scheduler it cancels every future: they come out
            # of as_completed "cancelled", and their tasks end Crashed.  Values of the nodes
            # that finished meanwhile are fetched together (one request per worker).
            for batch in as_completed(list(waiting)).batches():
                fetch, left = {}, {}
                for future in batch:
                    key = waiting.pop(future)
                    if future.status == "finished":
                        if key in keep:
                            self._kept[key] = future
                        if source is not None:   # what is big stays, under this future
                            left[key] = future
                            fetch[key] = self.client.submit(_leave_big, views.get(key), future,
                                                            pure=False)
                        else:
                            fetch[key] = (self.client.submit(views[key], future, pure=False)
                                          if key in views else future)
                    elif future.status == "error":
                        out[key] = self._error(future.exception(), untag)
                    else:
                        out[key] = self._cancelled(key)
                batch = future = None   # hold no future longer than needed
                for key, value in self._fetch(fetch).items():
                    if key in left and not isinstance(value, NodeError):
                        value = _remote(value, source, left[key], ())
                    out[key] = value
                    if on_result is not None and not isinstance(value, NodeError):
                        on_result(key, value)
                del fetch, left
        except BaseException:
            if self.client.status == "running":
                self.client.cancel(list(waiting))
            raise
        finally:
            waiting.clear()
        return out

    def __repr__(self) -> str:
        where = self.address or getattr(self.cluster_class, "__name__", self.cluster_class) \
            or "LocalCluster"
        return f"DaskExecutor({where})"


def _annotated(graph: dict, annotations: Mapping[Any, dict]) -> Any:
    """``graph`` as a HighLevelGraph carrying per-key annotations.

    One layer per distinct set of worker resources; priorities, which differ per key,
    are looked up per key."""
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    priority = {k: a["priority"] for k, a in annotations.items() if "priority" in a}
    groups: dict[str, tuple[dict, dict]] = {}
    for key, node in graph.items():
        resources = annotations.get(key, {}).get("resources")
        name = repr(sorted(resources.items())) if resources else "plain"
        groups.setdefault(name, ({}, {"resources": resources} if resources else {}))[0][key] = node
    layers = {}
    for name, (nodes, ann) in groups.items():
        if priority:
            ann = {**ann, "priority": partial(_lookup, priority)}
        layers[name] = MaterializedLayer(nodes, annotations=ann or None)
    return HighLevelGraph(layers, {name: set() for name in layers})


def _lookup(table: Mapping[Any, Any], key: Any) -> Any:
    return table.get(key, 0)


def _bokeh_probe() -> Callable[[], bool]:
    """A function telling whether bokeh imports where it runs (made here, so it pickles by
    value and a scheduler without prefect_dask can run it)."""
    def probe() -> bool:
        try:
            import bokeh  # noqa: F401
        except ImportError:
            return False
        return True

    return probe


def _tagged(key: Any, tag: str) -> Any:
    if isinstance(key, tuple):
        return (f"{key[0]}-{tag}", *key[1:])
    return f"{key}-{tag}"


def _takes_n_workers(client: Any) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


# -- results left on the cluster (results_on_cluster=True) --------------------------------

LEAVE_BYTES = 64 * 1024   # results at least this big (dask.sizeof) stay on the cluster


class _Left:
    """Where a result left on the cluster sits in its node's value (a path of indexes)."""

    __slots__ = ("path",)

    def __init__(self, path: tuple) -> None:
        self.path = path


def _leave_big(view: Callable[[Any], Any] | None, value: Any, path: tuple = ()) -> Any:
    """On the worker: ``value`` (a State, a batch's MapStates or a group's tuple of States)
    with each result of at least LEAVE_BYTES replaced by a ``_Left`` marker."""
    from dask.sizeof import sizeof

    from ..states import MapStates, State, raw_result

    if view is not None:
        value = view(value)
    if isinstance(value, State):
        result = raw_result(value)
        return value.with_result(_Left(path)) if result is not None and \
            sizeof(result) >= LEAVE_BYTES else value
    if isinstance(value, MapStates):
        big = [i for i, r in enumerate(value.results) if r is not None and
               sizeof(r) >= LEAVE_BYTES]
        if not big:
            return value
        out = MapStates.concat(value.task_name, [value])
        out.offset = value.offset
        for i in big:
            out.results[i] = _Left((*path, i))
            if i in out.whole:
                out.whole[i] = out.whole[i].with_result(out.results[i])
        return out
    if isinstance(value, tuple):
        return tuple(_leave_big(None, v, (*path, j)) for j, v in enumerate(value))
    return value


def _remote(value: Any, source: "_ClusterResults", future: Any, path: tuple) -> Any:
    """On the driver: ``value`` from ``_leave_big`` with each marker made a Remote that
    fetches the result from ``future``'s value."""
    from ..states import MapStates, Remote, State, raw_result

    if isinstance(value, State):
        left = raw_result(value)
        if type(left) is not _Left:
            return value
        name = value.task_name if value.map_index is None else \
            f"{value.task_name}[{value.map_index}]"
        return value.with_result(Remote(source, (future, left.path, name)))
    if isinstance(value, MapStates):
        for i, r in enumerate(value.results):
            if type(r) is _Left:
                name = f"{value.task_name}[{value.offset + i}]"
                value.results[i] = Remote(source, (future, r.path, name))
                if i in value.whole:
                    value.whole[i] = value.whole[i].with_result(value.results[i])
        return value
    if isinstance(value, tuple):
        return tuple(_remote(v, source, future, (*path, j)) for j, v in enumerate(value))
    return value


def _pick(value: Any, paths: list) -> list:
    """On the worker: the results at ``paths`` in a node's value (see ``_leave_big``)."""
    from ..states import MapStates, State, raw_result

    out = []
    for path in paths:
        v = value
        for i in path:
            if isinstance(v, MapStates):
                v = v.results[i]     # a child's result itself
                break
            v = v[i]
        out.append(raw_result(v) if isinstance(v, State) else v)
    return out


class _ClusterResults:
    """Fetches results left on the cluster, one request per node holding them."""

    def __init__(self, executor: DaskExecutor) -> None:
        self.executor = executor

    def fetch(self, keys: list) -> list:
        client = self.executor.client
        if client is None or client.status != "running":
            names = ", ".join(repr(k[2]) for k in keys[:3]) + (", ..." if len(keys) > 3 else "")
            raise ExecutorError(
                f"The result of task {names} was left on the Dask cluster "
                "(DaskExecutor(results_on_cluster=True)) and that executor has been stopped "
                "since (executor.close(), or the end of your `with executor:` block); read "
                "results before stopping it, or run without results_on_cluster to bring every "
                "result back with the State.")
        by_node: dict[Any, list[int]] = {}
        for n, (future, _path, _name) in enumerate(keys):
            by_node.setdefault(future.key, []).append(n)
        picks = {fkey: client.submit(_pick, keys[ns[0]][0], [keys[n][1] for n in ns],
                                     pure=False) for fkey, ns in by_node.items()}
        out: list = [None] * len(keys)
        for fkey, values in zip(picks, client.gather(list(picks.values()))):
            for n, v in zip(by_node[fkey], values):
                out[n] = v
        return out
