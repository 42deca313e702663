"""``Zip`` and ``Unzip`` (Prefect 1's ``prefect.tasks.files.compression``), with ``zipfile``."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from ...errors import TaskDefinitionError
from ...utilities.logging import get_logger
from ...task import Task
from ...utilities.tasks import defaults_from_attrs
from .operations import existing_path, given_path

__all__ = ["Zip", "Unzip"]

METHODS = {"store": zipfile.ZIP_STORED, "deflate": zipfile.ZIP_DEFLATED,
           "bzip2": zipfile.ZIP_BZIP2, "lzma": zipfile.ZIP_LZMA}


class Unzip(Task):
    """Extract the zip file ``zip_path`` into ``extract_dir`` (default: the working
    directory); ``password`` for an encrypted one.  Returns ``extract_dir``."""

    def __init__(self, zip_path: str | Path = "", extract_dir: str | Path = "",
                 **kwargs: Any) -> None:
        self.zip_path = zip_path
        self.extract_dir = extract_dir
        super().__init__(**kwargs)

    @defaults_from_attrs("zip_path", "extract_dir")
    def run(self, zip_path: str | Path = "", extract_dir: str | Path = "",  # type: ignore[override]
            password: bytes | str | None = None) -> Path:
        archive = existing_path(self, "zip_path", zip_path)
        folder = Path(extract_dir or Path.cwd())
        if not zipfile.is_zipfile(archive):
            raise TypeError(f"Task {self.name!r}: zip_path {str(archive)!r} is not a zip file.")
        get_logger().info("Extracting %r to %r", str(archive), str(folder))
        if isinstance(password, str):
            password = password.encode("utf-8")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(folder, pwd=password)
        return folder


class Zip(Task):
    """Write the file or directory ``source_path`` (or a list of them) into the zip file
    ``zip_path``; ``compression_method`` is store, deflate (default), bzip2 or lzma."""

    def __init__(self, source_path: Any = "", zip_path: str | Path = "",
                 compression_method: str = "deflate", compression_level: int | None = None,
                 **kwargs: Any) -> None:
        if compression_method not in METHODS:
            raise TaskDefinitionError(
                f"Zip: compression method {compression_method!r} is not supported; use one "
                f"of {', '.join(METHODS)}."
            )
        self.source_path = source_path
        self.zip_path = zip_path
        self.compression = METHODS[compression_method]
        self.compression_level = compression_level
        super().__init__(**kwargs)

    @defaults_from_attrs("source_path", "zip_path")
    def run(self, source_path: Any = "", zip_path: str | Path = "") -> None:  # type: ignore[override]
        sources = [given_path(self, "source_path", p) for p in source_path] \
            if isinstance(source_path, list) and source_path \
            else [given_path(self, "source_path", source_path)]
        archive = given_path(self, "zip_path", zip_path)
        logger = get_logger()
        with zipfile.ZipFile(archive, "w", compression=self.compression,
                             compresslevel=self.compression_level) as zf:
            logger.info("Creating zip archive %s", archive)
            for source in sources:
                logger.info("Adding %s to archive", source.name)
                if source.is_file():
                    zf.write(source, arcname=source.name)
                    continue
                for root, _dirs, files in os.walk(source):
                    for name in files:
                        path = Path(root) / name
                        zf.write(path, arcname=path.relative_to(source.parent))
