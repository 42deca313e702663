"""The package's layers: imports point down (issue 14: no import cycle between the flow
and the engine).  Read from the source, imports inside functions included, so a cycle
cannot hide in a function body."""

from __future__ import annotations

import ast
from pathlib import Path

import prefect_dask

PACKAGE = Path(prefect_dask.__file__).parent

# What builds flows or serves users sits above the engine and the executors.
ABOVE_ENGINE = ("prefect_dask.flow", "prefect_dask.compat", "prefect_dask.app",
                "prefect_dask.tasks", "prefect_dask.store.history")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every prefect_dask module ``path`` imports, wherever the import statement is."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            mod = node.module or ""
            full = (f"{base}.{mod}" if mod else base) if node.level else mod
            out.add(full)
            out.update(f"{full}.{a.name}" for a in node.names)   # from . import flow
    return {m for m in out if m.startswith("prefect_dask")}


def test_the_engine_and_executors_never_import_what_builds_flows_or_serves_users():
    bad = {}
    for layer in ("engine", "executors"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            wrong = sorted(m for m in imported(path)
                           if any(m == a or m.startswith(a + ".") for a in ABOVE_ENGINE))
            if wrong:
                bad[module_name(path)] = wrong
    assert not bad, bad


def test_the_scan_sees_imports_inside_functions():
    """The check above would catch the function-level import it was written against."""
    src = "def f():\n    from ..flow import Flow\n"
    tree = PACKAGE / "engine" / "__layers_probe__.py"
    try:
        tree.write_text(src)
        assert "prefect_dask.flow" in imported(tree)
    finally:
        tree.unlink()
