"""``Copy``, ``Move``, ``Remove``, ``Glob`` (Prefect 1's ``prefect.tasks.files.operations``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ...utilities.logging import get_logger
from ...task import Task
from ...utilities.tasks import defaults_from_attrs

__all__ = ["Copy", "Move", "Remove", "Glob", "given_path", "existing_path"]


def given_path(task: Task, arg: str, value: Any) -> Path:
    """``value`` as a Path; an error naming the task and the argument if it is empty."""
    if not value:
        raise ValueError(f"Task {task.name!r}: no `{arg}` provided; pass "
                         f"{type(task).__name__}({arg}=...) or call it in the flow with {arg}=...")
    return Path(value)


def existing_path(task: Task, arg: str, value: Any) -> Path:
    """``given_path``, which must also exist."""
    path = given_path(task, arg, value)
    if not path.exists():
        raise ValueError(f"Task {task.name!r}: {arg} {str(path)!r} not found; check the path "
                         "(relative paths start in the directory the task runs in).")
    return path


class _SourceTarget(Task):
    def __init__(self, source_path: str | Path = "", target_path: str | Path = "",
                 **kwargs: Any) -> None:
        self.source_path = source_path
        self.target_path = target_path
        super().__init__(**kwargs)


class Move(_SourceTarget):
    """Move a file or directory (``shutil.move``); returns the new path."""

    @defaults_from_attrs("source_path", "target_path")
    def run(self, source_path: str | Path = "",  # type: ignore[override]
            target_path: str | Path = "") -> Path:
        source = existing_path(self, "source_path", source_path)
        target = given_path(self, "target_path", target_path)
        get_logger().info("Moving %s to %s...", source, target)
        return Path(shutil.move(str(source), str(target)))


class Copy(_SourceTarget):
    """Copy a file (``shutil.copy``) or a directory tree (``shutil.copytree``); returns the
    path of the copy."""

    @defaults_from_attrs("source_path", "target_path")
    def run(self, source_path: str | Path = "",  # type: ignore[override]
            target_path: str | Path = "") -> Path:
        source = existing_path(self, "source_path", source_path)
        target = given_path(self, "target_path", target_path)
        get_logger().info("Copying %s to %s...", source, target)
        copy = shutil.copy if source.is_file() else shutil.copytree
        return Path(copy(source, target))


class Remove(Task):
    """Remove a file, or an empty directory (as Prefect 1: a full one is an error)."""

    def __init__(self, path: str | Path = "", **kwargs: Any) -> None:
        self.path = path
        super().__init__(**kwargs)

    @defaults_from_attrs("path")
    def run(self, path: str | Path = "") -> None:  # type: ignore[override]
        target = existing_path(self, "path", path)
        get_logger().info("Removing %s...", target)
        if target.is_file():
            target.unlink()
        else:
            target.rmdir()


class Glob(Task):
    """The paths under ``path`` matching ``pattern`` (``Path.glob``; ``**`` recurses)."""

    def __init__(self, path: str | Path = "", pattern: str = "*", **kwargs: Any) -> None:
        self.path = path
        self.pattern = pattern
        super().__init__(**kwargs)

    @defaults_from_attrs("path", "pattern")
    def run(self, path: str | Path = "", pattern: str = "*") -> list[Path]:  # type: ignore[override]
        folder = given_path(self, "path", path)
        get_logger().debug("Glob path: %s", folder / pattern)
        return list(folder.glob(pattern))
