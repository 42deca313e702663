"""Where task results are kept: serializers, Result stores, and the safe file format under them.

A stored value is ``MAGIC + digest + serializer tag + payload``.  The digest is
the SHA-256 of the rest, or its HMAC-SHA256 when a key is set
(``PREFECT_DASK_RESULT_KEY`` or ``LocalResult(key=...)``).  Reading checks the
digest *before* deserializing, so a truncated, corrupted or tampered file is
refused and never unpickled.  Writes go to a temporary file in the same
directory, then ``os.replace`` it into place: a reader sees the old file or
the new one, never half of one.  Files and directories are created owner-only.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.pkl")
>>> write_value(path, {"a": 1})
>>> read_value(path)
{'a': 1}
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import os
import tempfile
import uuid
from pathlib import Path
from collections.abc import Callable
from typing import Any

import cloudpickle
import msgpack

from .errors import PrefectDaskError
from .store.targets import render

__all__ = ["home", "write_value", "read_value", "CorruptResultError", "ResultWriteError",
           "atomic_write", "Serializer", "PickleSerializer", "JSONSerializer",
           "MsgPackSerializer", "CompressedSerializer", "Result", "LocalResult", "MemoryResult",
           "FSSpecResult", "PrefectResult", "ConstantResult", "NoResultType", "NoResult",
           "S3Result", "GCSResult", "AzureResult",
           "private_dir"]

MAGIC_PLAIN = b"PDR2"
MAGIC_HMAC = b"PDH2"


class CorruptResultError(PrefectDaskError, ValueError):
    """A stored result failed its integrity check and was not loaded."""


class ResultWriteError(PrefectDaskError, OSError):
    """A result could not be serialized or written."""


def home() -> Path:
    """``PREFECT_DASK_HOME`` (default ``~/.prefect_dask``): where caches, results and records live."""
    return Path(os.environ.get("PREFECT_DASK_HOME") or Path.home() / ".prefect_dask")


def remove_checkpoints(flow_name: str, run_id: str, dry_run: bool = False) -> int:
    """Delete the checkpoints run ``run_id`` of ``flow_name`` left in the default result
    folder (``$PREFECT_DASK_HOME/results/<flow>/<slug>/<run id>/``, see
    ``targets.default_location``), and the folders they leave empty; returns how many
    files.  Only checkpoint files (and a killed writer's temporary files) go: what a
    ``target``, a ``location`` or a Result's own ``dir`` put elsewhere is never touched."""
    from .store.targets import checkpoint_folder, checkpoint_index

    root = home() / "results"
    flow_dir = root / flow_name   # checkpoint_folder's first level
    if root.resolve() not in flow_dir.resolve().parents:   # a flow named "..": not ours
        return 0
    count = 0
    for slug_dir in (flow_dir.iterdir() if flow_dir.is_dir() else ()):
        folder = root / checkpoint_folder(flow_name, slug_dir.name, run_id)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            writing = path.name.startswith(".") and path.name.endswith(".tmp")
            if path.is_file() and (writing or checkpoint_index(path.name) is not False):
                count += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
        if not dry_run:
            for empty in (folder, slug_dir):
                try:
                    empty.rmdir()
                except OSError:   # something else is in it: it stays
                    break
    if not dry_run:
        with contextlib.suppress(OSError):
            flow_dir.rmdir()
    return count


# -- serializers -------------------------------------------------------------------
class Serializer:
    """Turns values into bytes and back; ``tag`` (4 bytes) names it inside stored files.

    Subclass it with ``dumps``/``loads``, or with Prefect 1's ``serialize``/``deserialize``:
    either pair gives the other.  A store reads its own serializer's files, so a subclass
    may keep the default tag.

    >>> class Upper(Serializer):
    ...     def serialize(self, value): return value.upper().encode()
    ...     def deserialize(self, data): return data.decode().lower()
    >>> Upper().loads(Upper().dumps("hi")), Upper() == Upper()
    ('hi', True)
    """

    tag = b"user"

    def dumps(self, value: Any) -> bytes:
        if type(self).serialize is Serializer.serialize:
            raise NotImplementedError(f"{type(self).__name__} defines neither dumps(value) nor "
                                      "serialize(value); define one that returns bytes.")
        return self.serialize(value)

    def loads(self, data: bytes) -> Any:
        if type(self).deserialize is Serializer.deserialize:
            raise NotImplementedError(f"{type(self).__name__} defines neither loads(data) nor "
                                      "deserialize(data); define one that takes bytes.")
        return self.deserialize(data)

    def serialize(self, value: Any) -> bytes:
        return self.dumps(value)

    def deserialize(self, data: bytes) -> Any:
        return self.loads(data)

    def __eq__(self, other: Any) -> bool:   # Prefect 1: serializers of one type are equal
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class PickleSerializer(Serializer):
    """cloudpickle (the default): any Python value."""

    tag = b"pckl"

    def dumps(self, value: Any) -> bytes:
        return cloudpickle.dumps(value)

    def loads(self, data: bytes) -> Any:
        return cloudpickle.loads(data)


class JSONSerializer(Serializer):
    """JSON: plain data only, readable by anything."""

    tag = b"json"

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class MsgPackSerializer(Serializer):
    """msgpack: plain data only, compact and fast."""

    tag = b"mpck"

    def dumps(self, value: Any) -> bytes:
        return msgpack.packb(value, use_bin_type=True)

    def loads(self, data: bytes) -> Any:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)


class CompressedSerializer(Serializer):
    """Another serializer's bytes, compressed (Prefect 1's): ``format`` names a module with
    ``compress``/``decompress`` (``"gzip"``, ``"bz2"``, ``"lzma"``, ``"zlib"``), or give
    both functions yourself.

    >>> s = CompressedSerializer(JSONSerializer(), format="gzip")
    >>> s.loads(s.dumps({"a": [1, 2]}))
    {'a': [1, 2]}
    """

    tag = b"cmpr"

    def __init__(self, serializer: Serializer, format: str | None = None,
                 compress: Callable[..., bytes] | None = None,
                 decompress: Callable[..., bytes] | None = None,
                 compress_kwargs: dict | None = None,
                 decompress_kwargs: dict | None = None) -> None:
        if (format is None and (compress is None or decompress is None)) \
                or (format is not None and (compress is not None or decompress is not None)):
            raise ValueError("CompressedSerializer needs either format='gzip' (or 'bz2', "
                             "'lzma', 'zlib') or both compress= and decompress=, not both.")
        if format is not None:
            import importlib

            try:
                module = importlib.import_module(format)
                compress, decompress = module.compress, module.decompress
            except (ImportError, AttributeError):
                raise ValueError(f"CompressedSerializer: format={format!r} is not a module with "
                                 "compress() and decompress(); use 'gzip', 'bz2', 'lzma' or "
                                 "'zlib'.") from None
        self.serializer = serializer
        self.compress, self.decompress = compress, decompress
        self.compress_kwargs = dict(compress_kwargs or {})
        self.decompress_kwargs = dict(decompress_kwargs or {})

    def dumps(self, value: Any) -> bytes:
        return self.compress(self.serializer.dumps(value), **self.compress_kwargs)

    def loads(self, data: bytes) -> Any:
        return self.serializer.loads(self.decompress(data, **self.decompress_kwargs))

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), self.serializer))


SERIALIZERS = {s.tag: s for s in (PickleSerializer(), JSONSerializer(), MsgPackSerializer())}


# -- the safe file format -------------------------------------------------------------
def _env_key() -> bytes | None:
    key = os.environ.get("PREFECT_DASK_RESULT_KEY")
    return key.encode() if key else None


def _digest(body: bytes, key: bytes | None) -> bytes:
    if key is None:
        return hashlib.sha256(body).digest()
    return hmac.new(key, body, hashlib.sha256).digest()


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` and any missing parents, each owner-only (0o700); return it."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    return Path(missing[0]) if missing else path


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating owner-only parent directories."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode(value: Any, serializer: Serializer | None = None, key: bytes | None = None) -> bytes:
    """The bytes of a stored value (see module docstring)."""
    serializer = serializer or PickleSerializer()
    key = key if key is not None else _env_key()
    body = serializer.tag + serializer.dumps(value)
    return (MAGIC_HMAC if key else MAGIC_PLAIN) + _digest(body, key) + body


def decode(data: bytes, where: str, key: bytes | None = None,
           serializer: Serializer | None = None) -> Any:
    """The value in ``data`` (read from ``where``), checked before it is deserialized;
    ``serializer`` (the reading store's) reads files with its tag, the built-ins the rest."""
    key = key if key is not None else _env_key()
    magic, digest, body = data[:4], data[4:36], data[36:]
    if magic not in (MAGIC_PLAIN, MAGIC_HMAC) or len(body) < 4:
        raise CorruptResultError(f"{where} is not a prefect_dask result (bad header); it was "
                                 "not loaded. Delete it to recompute.")
    if magic == MAGIC_HMAC and key is None:
        raise CorruptResultError(f"{where} is signed (HMAC) but no key is set; set "
                                 "PREFECT_DASK_RESULT_KEY to the key it was written with.")
    if magic == MAGIC_PLAIN and key is not None:
        raise CorruptResultError(f"{where} is not signed but a result key is set; refusing to "
                                 "load an unsigned result. Delete it to recompute.")
    if not hmac.compare_digest(digest, _digest(body, key)):
        raise CorruptResultError(f"{where} failed its integrity check (truncated, corrupted or "
                                 "tampered with); it was not loaded. Delete it to recompute.")
    if serializer is None or serializer.tag != body[:4]:
        serializer = SERIALIZERS.get(body[:4])
    if serializer is None:
        raise CorruptResultError(f"{where} was written with an unknown serializer {body[:4]!r}.")
    return serializer.loads(body[4:])


def write_value(path: str | os.PathLike, value: Any, serializer: Serializer | None = None,
                key: bytes | None = None) -> None:
    """Store ``value`` in ``path`` (atomically, with its digest)."""
    atomic_write(path, encode(value, serializer, key))


def read_value(path: str | os.PathLike, key: bytes | None = None,
               serializer: Serializer | None = None) -> Any:
    """Load a value written by ``write_value``; refuse it if its digest does not match."""
    return decode(Path(path).read_bytes(), str(path), key, serializer)


# -- Result stores ------------------------------------------------------------------
class Result:
    """Where a task's checkpointed results go.  ``Result("s3://bucket/dir")`` picks a store.

    A store turns a location (a relative path, from ``target`` or the default
    layout) into stored bytes and back: ``put(value, location)`` returns where it went,
    ``get(location)`` the value.  Prefect 1's methods, for programs that use a Result
    directly, return copies carrying ``.value`` and ``.location``:

    >>> import tempfile
    >>> r = LocalResult(dir=tempfile.mkdtemp(), location="{name}.bin")
    >>> written = r.write({"rows": 2}, name="day-1")
    >>> written.value, written.location.endswith("day-1.bin"), r.exists("day-1.bin")
    ({'rows': 2}, True, True)
    >>> r.read("day-1.bin").value
    {'rows': 2}
    """

    #: Prefect 1: a copy from ``write``/``read``/``from_value`` carries its value
    value: Any = None
    #: a template (or callable) naming each stored value, or where a copy's value is
    location: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> "Result":
        if cls is Result:
            url = args[0] if args else kwargs.get("url")
            if url is None:
                return super().__new__(MemoryResult)
            if isinstance(url, str) and "://" in url and not url.startswith("file://"):
                return super().__new__(FSSpecResult)
            return super().__new__(LocalResult)
        return super().__new__(cls)

    def exists(self, location: str) -> bool:
        """Whether a result is stored at ``location`` (relative to this store)."""
        raise NotImplementedError

    def get(self, location: str) -> Any:
        """The value stored at ``location`` (relative to this store)."""
        return self.load(self.where(location))

    def put(self, value: Any, location: str) -> str:
        """Store ``value`` at ``location``; returns ``where(location)``."""
        raise NotImplementedError

    # -- Prefect 1's Result API: copies carrying a value and its location ----------------
    def format(self, **fields: Any) -> "Result":
        """A copy whose ``location`` is this one's template filled with ``fields``."""
        new = copy.copy(self)
        if self.location is not None:
            new.location = render(self.location, fields)
        return new

    def from_value(self, value: Any) -> "Result":
        new = copy.copy(self)
        new.value = value
        return new

    def write(self, value: Any, **fields: Any) -> "Result":
        """Store ``value`` where ``location`` filled with ``fields`` says (a new name if
        there is no ``location``); a copy with the value and where it went."""
        new = self.format(**fields)
        new.location = self.put(value, new.location if isinstance(new.location, str)
                                else f"{uuid.uuid4().hex}.prefect_result")
        new.value = value
        return new

    def read(self, location: str) -> "Result":
        """A copy with the value stored at ``location`` (relative to this store)."""
        new = self.from_value(self.get(location))
        new.location = location
        return new

    def where(self, location: str) -> str:
        """The full path or URL of ``location``: what run records keep."""
        raise NotImplementedError

    def load(self, where: str) -> Any:
        """The value stored at a full path or URL that ``where`` gave."""
        raise NotImplementedError

    def stored(self, folder: str) -> list[str]:
        """The names of the results stored directly in ``folder`` (relative to this store).

        Resume uses it to find checkpoints a killed run wrote but did not record.  A
        store that cannot list returns none: resume then reuses what the run record names.
        """
        return []


class MemoryResult(Result):
    """No persistence (the default): results live in the run's States only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def exists(self, location: str) -> bool:
        return False

    def put(self, value: Any, location: str) -> str:
        return ""

    def where(self, location: str) -> str:
        return ""

    def __repr__(self) -> str:
        return "MemoryResult()"


class PrefectResult(Result):
    """The result itself, as JSON, is its location: kept in the run record (and the
    State's ``location``), no file written.  For small JSON values (Prefect 1's
    ``PrefectResult``).

    >>> r = PrefectResult()
    >>> where = r.put({"rows": [1, 2]}, "ignored")
    >>> where, r.load(where)
    ('{"rows": [1, 2]}', {'rows': [1, 2]})
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass    # Prefect 1's arguments (value=, location=...) carry nothing needed here

    def exists(self, location: str) -> bool:
        try:
            json.loads(location)
        except ValueError:
            return False
        return True

    def put(self, value: Any, location: str) -> str:
        try:
            return json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ResultWriteError(
                f"PrefectResult keeps a result as JSON in the run record, and a "
                f"{type(value).__name__} is not JSON ({exc}); return plain data (dict, list, "
                "str, numbers) or use LocalResult().") from None

    def where(self, location: str) -> str:
        return location

    def load(self, where: str) -> Any:
        return json.loads(where)

    def __repr__(self) -> str:
        return "PrefectResult()"


class ConstantResult(Result):
    """A value held by the Result object itself (Prefect 1's ``ConstantResult``): it always
    exists, reading gives it back, and there is nowhere to write.

    >>> c = ConstantResult(value=5)
    >>> c.value, c.exists("anything"), c.read("anywhere") is c
    (5, True, True)
    """

    def __init__(self, *, value: Any = None, location: Any = None, **_: Any) -> None:
        self.value, self.location = value, location

    def exists(self, location: str) -> bool:
        return True

    def read(self, location: str) -> "Result":
        return self

    def get(self, location: str) -> Any:
        return self.value

    def put(self, value: Any, location: str) -> str:
        raise ValueError("ConstantResult holds one fixed value and cannot store another; "
                         "give the task LocalResult() (or PrefectResult()) to keep results.")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value

    def __hash__(self) -> int:
        return id(type(self))

    def __repr__(self) -> str:
        return f"<ConstantResult: {self.value!r:.60}>"


class NoResultType(Result):
    """Prefect 1's marker for "no result at all" (``NoResult``, its one instance in use);
    every instance equals every other."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def exists(self, location: str) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoResultType)

    def __hash__(self) -> int:
        return id(NoResultType)

    def __repr__(self) -> str:
        return "<NoResultType: None>"


NoResult = NoResultType()


class LocalResult(Result):
    """Results as files under ``dir`` (default ``$PREFECT_DASK_HOME/results``; ``~`` is the
    home directory).  ``location``, a template like a task's ``target`` (or a callable),
    names each file, as in Prefect 1; without it, the default layout."""

    def __init__(self, dir: str | os.PathLike | None = None, serializer: Serializer | None = None,
                 key: str | bytes | None = None,
                 location: str | Callable[..., str] | None = None) -> None:
        if isinstance(dir, str) and dir.startswith("file://"):
            dir = dir[len("file://"):]
        self.dir = Path(dir).expanduser() if dir is not None else None   # "~": the home dir
        self.serializer = serializer or PickleSerializer()
        self.key = key.encode() if isinstance(key, str) else key
        self.location = location

    def path(self, location: str) -> Path:
        return (self.dir if self.dir is not None else home() / "results") / location

    def exists(self, location: str) -> bool:
        return self.path(location).is_file()

    def where(self, location: str) -> str:
        return str(self.path(location))

    def load(self, where: str) -> Any:
        return read_value(where[len("file://"):] if where.startswith("file://") else where,
                          self.key, self.serializer)

    def stored(self, folder: str) -> list[str]:
        try:
            return [e.name for e in os.scandir(self.path(folder)) if e.is_file()]
        except FileNotFoundError:
            return []

    def put(self, value: Any, location: str) -> str:
        path = self.path(location)
        try:
            data = encode(value, self.serializer, self.key)
        except Exception as exc:
            raise ResultWriteError(
                f"cannot serialize a {type(value).__name__} with "
                f"{type(self.serializer).__name__} ({exc}); pick another serializer or return "
                "plain data.") from exc
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise ResultWriteError(f"cannot write the result to {path}: {exc}") from exc
        return str(path)

    def __repr__(self) -> str:
        return f"LocalResult(dir={str(self.dir) if self.dir else None!r})"


class FSSpecResult(Result):
    """Results under any fsspec URL (``s3://``, ``memory://``...); needs ``fsspec`` installed,
    and the URL's filesystem package (``s3fs``...).  Both are looked for when the store is
    first used, so a program builds its flow without them."""

    #: The package of each cloud filesystem fsspec reaches by URL scheme.
    PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs",
                "abfs": "adlfs", "abfss": "adlfs"}

    def __init__(self, url: str, serializer: Serializer | None = None,
                 key: str | bytes | None = None, location: Any = None,
                 storage_options: dict | None = None) -> None:
        self.url = url.rstrip("/")
        self.storage_options = dict(storage_options or {})   # passed to the filesystem
        self.serializer = serializer or PickleSerializer()
        self.key = key.encode() if isinstance(key, str) else key
        self.location = location
        self._fs: Any = None

    def _options(self) -> dict:
        """The filesystem's options (a subclass may look some up when first used)."""
        return self.storage_options

    def _filesystem(self) -> tuple[Any, str]:
        """The fsspec filesystem and the root path in it (made on first use)."""
        if self._fs is None:
            try:
                import fsspec
            except ImportError:
                raise ResultWriteError(
                    f"{self!r} needs fsspec to reach {self.url}: pip install "
                    "'prefect_dask[fsspec]' (and the filesystem's own package, e.g. s3fs)."
                ) from None
            try:
                self._fs = fsspec.core.url_to_fs(self.url, **self._options())
            except ImportError as exc:
                scheme = self.url.split("://", 1)[0]
                package = self.PACKAGES.get(scheme, f"the fsspec filesystem for {scheme}://")
                raise ResultWriteError(
                    f"{self!r} needs {package} to reach {self.url}: pip install {package} "
                    f"({exc}).") from None
        return self._fs

    @property
    def fs(self) -> Any:
        return self._filesystem()[0]

    @property
    def root(self) -> str:
        return self._filesystem()[1]

    def _path(self, location: str) -> str:
        return f"{self.root}/{location}"

    def exists(self, location: str) -> bool:
        return self.fs.exists(self._path(location))

    def where(self, location: str) -> str:
        return f"{self.url}/{location}"

    def load(self, where: str) -> Any:
        if where.startswith(self.url + "/"):   # ours: through this store's filesystem
            with self.fs.open(f"{self.root}{where[len(self.url):]}", "rb") as fh:
                return decode(fh.read(), where, self.key, self.serializer)
        import fsspec

        with fsspec.open(where, "rb") as fh:
            return decode(fh.read(), where, self.key, self.serializer)

    def stored(self, folder: str) -> list[str]:
        path = self._path(folder)
        if not self.fs.isdir(path):
            return []
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False)]

    def put(self, value: Any, location: str) -> str:
        path = self._path(location)
        data = encode(value, self.serializer, self.key)
        tmp = f"{path}.tmp-{os.getpid()}-{id(data)}"
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(tmp, "wb") as fh:
            fh.write(data)
        # one file each, never a glob: a task's slug may hold "[" ("Constant[list]-1")
        self.fs.cp_file(tmp, path)
        self.fs.rm_file(tmp)
        return f"{self.url}/{location}"

    def __repr__(self) -> str:
        return f"Result({self.url!r})"


class _BucketResult(FSSpecResult):
    """Prefect 1's result class of one cloud store, served as the fsspec store of its URL."""

    SCHEME = ""

    def __init__(self, bucket: str, serializer: Serializer | None = None,
                 location: Any = None, key: str | bytes | None = None,
                 storage_options: dict | None = None, **prefect1: Any) -> None:
        if not bucket or not isinstance(bucket, str):
            raise ValueError(f"{type(self).__name__} needs the name of a bucket (got {bucket!r}).")
        unknown = set(prefect1) - {"value", "validators", "run_validators"}   # carry nothing
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(unknown)}; "
                            f"filesystem options go in storage_options={{...}}.")
        self.bucket = bucket
        super().__init__(f"{self.SCHEME}://{bucket}", serializer, key, location, storage_options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bucket={self.bucket!r})"


class S3Result(_BucketResult):
    """Prefect 1's ``S3Result(bucket, boto3_kwargs=None, upload_options=None)``: results under
    ``s3://bucket`` through s3fs (``pip install s3fs``); ``boto3_kwargs`` go to its client,
    ``upload_options`` (e.g. ``{"ServerSideEncryption": "AES256"}``) to every upload."""

    SCHEME = "s3"

    def __init__(self, bucket: str, boto3_kwargs: dict | None = None,
                 upload_options: dict | None = None, storage_options: dict | None = None,
                 **kwargs: Any) -> None:
        options = {**({"client_kwargs": dict(boto3_kwargs)} if boto3_kwargs else {}),
                   **({"s3_additional_kwargs": dict(upload_options)} if upload_options else {}),
                   **(storage_options or {})}
        super().__init__(bucket, storage_options=options, **kwargs)


class GCSResult(_BucketResult):
    """Prefect 1's ``GCSResult(bucket)``: results under ``gs://bucket`` through gcsfs
    (``pip install gcsfs``)."""

    SCHEME = "gs"

    def __init__(self, bucket: str | None = None, **kwargs: Any) -> None:
        super().__init__(bucket, **kwargs)   # type: ignore[arg-type]


class AzureResult(_BucketResult):
    """Prefect 1's ``AzureResult(container, connection_string=None,
    connection_string_secret=None)``: results under ``az://container`` through adlfs
    (``pip install adlfs``).  The secret is read when the store is first used; with
    neither, adlfs reads ``AZURE_STORAGE_CONNECTION_STRING``, as Prefect 1 did."""

    SCHEME = "az"

    def __init__(self, container: str, connection_string: str | None = None,
                 connection_string_secret: str | None = None, **kwargs: Any) -> None:
        self.container = container
        self.connection_string_secret = connection_string_secret
        if connection_string:
            kwargs["storage_options"] = {"connection_string": connection_string,
                                         **(kwargs.get("storage_options") or {})}
        super().__init__(container, **kwargs)

    def _options(self) -> dict:
        options = self.storage_options
        if self.connection_string_secret and "connection_string" not in options:
            from .secrets import Secret

            options = {**options,
                       "connection_string": Secret(self.connection_string_secret).get()}
        return options

    def __repr__(self) -> str:
        return f"AzureResult(container={self.container!r})"
