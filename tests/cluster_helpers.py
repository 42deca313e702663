"""Helpers for tests whose tasks run in other processes (issue 4).

Tasks that run on process-pool or cluster workers must reach those workers:
this module registers itself with ``cloudpickle.register_pickle_by_value``, so
its functions travel by value and a ``dask worker`` started without ``tests/``
on its path can still run them.  Test modules that define tasks used on such
executors call ``pickle_by_value(__name__)`` the same way.

Probes that must cross processes write lines to files (``append_line`` /
``read_lines``) instead of filling in-memory lists.  The rest starts and checks
real processes: a ``dask scheduler`` with ``dask worker`` processes, TLS
certificates, an entry-point dist-info, and "is any child process left?".
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import cloudpickle

__all__ = ["pickle_by_value", "append_line", "read_lines", "intervals", "overlaps",
           "dask_processes", "tls_security", "descendants", "alive", "wait_gone", "describe",
           "write_dist_info", "takes_ctrl_c", "BIN"]

BIN = Path(sys.executable).parent


def pickle_by_value(module_name: str) -> None:
    """Pickle the functions of ``module_name`` by value (workers need not import it)."""
    cloudpickle.register_pickle_by_value(sys.modules[module_name])


pickle_by_value(__name__)


# -- file probes (work across threads, processes and machines sharing a disk) -----

def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line to ``path`` with a single ``write`` (atomic for short lines)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines written to ``path`` so far (none if it does not exist)."""
    try:
        return Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []


def intervals(lines: list[str]) -> list[tuple[int, int]]:
    """Sequence numbers of matching "start <id>" / "end <id>" lines, as (start, end) pairs.

    The file order is the order events happened in, so two runs overlap exactly
    when one starts between the other's start and end: no clock involved.
    """
    start: dict[str, int] = {}
    out = []
    for n, line in enumerate(lines):
        what, who = line.split(" ", 1)
        if what == "start":
            start[who] = n
        else:
            out.append((start.pop(who), n))
    assert not start, f"runs that never ended: {sorted(start)}"
    return sorted(out)


def overlaps(lines: list[str]) -> int:
    """The most runs in flight at once, from "start"/"end" lines in event order."""
    most = now = 0
    for line in lines:
        now += 1 if line.startswith("start ") else -1
        most = max(most, now)
    return most


# -- processes --------------------------------------------------------------------

def takes_ctrl_c() -> None:
    """``preexec_fn`` of a process a test sends SIGINT to: a shell that ignores SIGINT
    (``trap "" INT``, a background job) passes SIG_IGN on to what it starts, and Python then
    installs no KeyboardInterrupt handler; with the default action back, it does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _kill_tree(proc: subprocess.Popen) -> None:
    """Stop ``proc`` (and its process group): SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def dask_processes(tmp_path: Path, n_workers: int = 2, timeout: float = 60,
                   worker_args: Mapping[int, list[str]] | None = None) -> Iterator[str]:
    """``dask scheduler`` and ``n_workers`` ``dask worker`` processes on 127.0.0.1.

    Yields the scheduler's address once every worker has registered.  Every
    process is killed on exit, whatever happened.  Each worker runs in its own
    directory under ``tmp_path`` with one thread and no nanny, and its output
    goes to a log file there; ``worker_args[i]`` are extra arguments for worker i
    (e.g. ``["--resources", "GPU=1"]``).
    """
    from distributed import Client

    dask = str(BIN / "dask")
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs = []

    def start(args: list[str], name: str) -> None:
        log = open(tmp_path / f"{name}.log", "wb")
        logs.append(log)
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=tmp_path, start_new_session=True))

    try:
        start([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--scheduler-file", str(sched_file)], "scheduler")
        deadline = time.monotonic() + timeout
        while not sched_file.exists() or not sched_file.read_text().strip():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dask scheduler did not start:\n"
                                   + (tmp_path / "scheduler.log").read_text())
            time.sleep(0.1)
        address = _address(sched_file)
        for i in range(n_workers):
            start(worker_command(address, tmp_path, f"w{i}", *(worker_args or {}).get(i, [])),
                  f"worker{i}")
        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(n_workers, timeout=timeout)
        yield address
    finally:
        for proc in reversed(procs):
            _kill_tree(proc)
        for log in logs:
            log.close()


def worker_command(address: str, tmp_path: Path, name: str, *extra: str) -> list[str]:
    """``dask worker`` for ``address``: one thread, no nanny, its own directory."""
    return [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny",
            "--no-dashboard", "--host", "127.0.0.1", "--name", name,
            "--local-directory", str(tmp_path / name), *extra]


@contextlib.contextmanager
def late_worker(address: str, tmp_path: Path, name: str, *extra: str) -> Iterator[None]:
    """One more ``dask worker`` joining a running scheduler; killed on exit."""
    with open(tmp_path / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(worker_command(address, tmp_path, name, *extra), stdout=log,
                                stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
        try:
            yield
        finally:
            _kill_tree(proc)


def _address(sched_file: Path) -> str:
    import json

    for _ in range(50):   # the file may be seen before it is fully written
        try:
            return json.loads(sched_file.read_text())["address"]
        except (ValueError, KeyError):
            time.sleep(0.1)
    raise RuntimeError(f"no address in {sched_file}: {sched_file.read_text()!r}")


def tls_security(tmp_path: Path):  # -> distributed.security.Security
    """A Security requiring TLS: ``Security.temporary()`` when ``cryptography`` is
    installed, otherwise a self-signed certificate made with the ``openssl`` CLI."""
    import pytest
    from distributed.security import Security

    try:
        import cryptography  # noqa: F401
    except ImportError:
        pass
    else:
        return Security.temporary()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("TLS needs the 'cryptography' package or the openssl CLI")
    cert, key = tmp_path / "tls-cert.pem", tmp_path / "tls-key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    files = dict(tls_ca_file=str(cert), tls_scheduler_cert=str(cert), tls_scheduler_key=str(key),
                 tls_worker_cert=str(cert), tls_worker_key=str(key), tls_client_cert=str(cert),
                 tls_client_key=str(key))
    return Security(require_encryption=True, **files)


def descendants(pid: int) -> list[int]:
    """Every live descendant process of ``pid`` (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        parents: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry))
        out, todo = [], [pid]
        while todo:
            kids = parents.get(todo.pop(), [])
            out.extend(kids)
            todo.extend(kids)
        return out
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still run (zombies count as gone)."""
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            out.append(pid)
    return out


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` s for ``pids`` to exit; those still running."""
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def describe(pids: list[int]) -> list[str]:
    """Command lines of ``pids``, for assertion messages."""
    out = []
    for pid in pids:
        try:
            out.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes()
                       .replace(b"\0", b" ").decode(errors="replace")[:200])
        except OSError:
            out.append(f"{pid}: (gone)")
    return out


# -- entry points -------------------------------------------------------------------

def write_dist_info(where: Path, dist: str, group: str, entries: dict[str, str]) -> Path:
    """A minimal installed distribution ``dist`` in ``where`` declaring ``entries`` in ``group``.

    Put ``where`` on ``sys.path`` and ``importlib.metadata.entry_points`` finds them.
    """
    if not re.fullmatch(r"[A-Za-z0-9_]+", dist):
        raise ValueError(f"dist name {dist!r} must be a plain identifier")
    info = where / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = [f"[{group}]", *(f"{name} = {target}" for name, target in entries.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return info


def every_state(flow_state: Any) -> list:
    """Every task's state and every mapped child's state of a flow run."""
    out = []
    for s in flow_state.result.values():
        out.append(s)
        out.extend(getattr(s, "map_states", None) or ())
    return out
