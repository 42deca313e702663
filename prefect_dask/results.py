"""Safe, atomic files of pickled values: the one mechanism under caches and checkpoints.

A stored value is ``MAGIC + digest + payload`` where ``payload`` is the
cloudpickled value and ``digest`` its SHA-256, or its HMAC-SHA256 when a key is
set (``PREFECT_DASK_RESULT_KEY``).  Reading checks the digest *before*
unpickling, so a truncated, corrupted or tampered file is refused and never
unpickled.  Writes go to a temporary file in the same directory, then
``os.replace`` it into place, so a reader sees the old file or the new one,
never half of one.  Files and directories are created owner-only.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.pkl")
>>> write_value(path, {"a": 1})
>>> read_value(path)
{'a': 1}
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from pathlib import Path
from typing import Any

import cloudpickle

from .errors import PrefectDaskError

__all__ = ["home", "write_value", "read_value", "CorruptResultError", "atomic_write"]

MAGIC_PLAIN = b"PDR1"
MAGIC_HMAC = b"PDH1"


class CorruptResultError(PrefectDaskError, ValueError):
    """A stored result failed its integrity check and was not loaded."""


def home() -> Path:
    """``PREFECT_DASK_HOME`` (default ``~/.prefect_dask``): where caches and records live."""
    return Path(os.environ.get("PREFECT_DASK_HOME") or Path.home() / ".prefect_dask")


def _key() -> bytes | None:
    key = os.environ.get("PREFECT_DASK_RESULT_KEY")
    return key.encode() if key else None


def _digest(payload: bytes, key: bytes | None) -> bytes:
    if key is None:
        return hashlib.sha256(payload).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating owner-only parent directories."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_value(path: str | os.PathLike, value: Any) -> None:
    """Pickle ``value`` with its digest into ``path`` (atomically)."""
    payload = cloudpickle.dumps(value)
    key = _key()
    atomic_write(path, (MAGIC_HMAC if key else MAGIC_PLAIN) + _digest(payload, key) + payload)


def read_value(path: str | os.PathLike) -> Any:
    """Load a value written by ``write_value``; refuse it if its digest does not match."""
    data = Path(path).read_bytes()
    magic, digest, payload = data[:4], data[4:36], data[36:]
    key = _key()
    if magic not in (MAGIC_PLAIN, MAGIC_HMAC) or len(digest) != 32:
        raise CorruptResultError(f"{path} is not a prefect_dask result file (bad header); "
                                 "it was not loaded. Delete it to recompute.")
    if magic == MAGIC_HMAC and key is None:
        raise CorruptResultError(f"{path} is signed (HMAC) but PREFECT_DASK_RESULT_KEY is not "
                                 "set; set the key it was written with to load it.")
    if magic == MAGIC_PLAIN and key is not None:
        raise CorruptResultError(f"{path} is not signed but PREFECT_DASK_RESULT_KEY is set; "
                                 "refusing to load an unsigned result. Delete it to recompute.")
    if not hmac.compare_digest(digest, _digest(payload, key if magic == MAGIC_HMAC else None)):
        raise CorruptResultError(f"{path} failed its integrity check (truncated, corrupted or "
                                 "tampered with); it was not loaded. Delete it to recompute.")
    return cloudpickle.loads(payload)
