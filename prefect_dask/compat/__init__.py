"""Prefect 1's module paths, served from one table (``paths.PATHS``) by an import hook.

After ``import prefect_dask`` every public, cloud-free Prefect 1.4.1 module path
works renamed: ``prefect_dask.engine.signals``, ``from prefect_dask.engine import
signals``, ``prefect_dask.utilities.tasks``, ``prefect_dask.core.flow``...  Inside
``python -m prefect_dask.compat FILE [ARGS...]`` (and only there) ``import prefect``
and every ``prefect.*`` path are served the same way, so an unmodified Prefect 1
program runs; a real ``prefect`` installation is never shadowed anywhere else.
There ``prefect`` is a view of ``prefect_dask`` (the same objects) whose
``__version__`` is the Prefect 1 version served, and worker processes the program
spawns get the same ``prefect``.

How a Prefect path ``prefect.P`` (or ``prefect_dask.P``) is found, first rule wins:

1. ``P`` is a real module of ours (``prefect_dask/P.py`` or a package): that module;
2. ``P`` is in ``PATHS``: the module, object or ``PACKAGE`` it names;
3. a prefix of ``P`` names a module in ``PATHS``: the rest under that module
   (``engine.executors.dask`` -> ``prefect_dask.executors.dask``).

prefect_dask's own modules that moved into layer packages (``MOVED``, a separate
table) keep their old paths the same way, under ``prefect_dask.`` only:
``import prefect_dask.records`` is ``prefect_dask.store.records`` (the same module
object, so pickles by either name load), and ``prefect.records`` is nothing.

Adding a path or a name is one line in ``paths.py``.  A package along these paths
(real or from the table) imports its children on first attribute access, as Prefect
1's eager imports allowed (``import prefect; prefect.engine.signals.FAIL``).  A table
module that has children of its own is served as a view of its module (a new module
object that reads the module's names), so the module itself is not changed.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any

from .. import signals
from .paths import MOVED, PACKAGE, PATHS

__all__ = ["PATHS", "PACKAGE", "MOVED", "install", "serve_prefect", "prefect_module", "lookup",
           "run_file", "main"]

OURS = "prefect_dask"
PREFECT = "prefect"

_CHILDREN: dict[str, set[str]] = {}
for _key in PATHS:
    _parent, _, _leaf = _key.rpartition(".")
    _CHILDREN.setdefault(_parent, set()).add(_leaf)


def _split(value: str) -> tuple[str, str | None]:
    module, _, name = value.partition(":")
    return module, name or None


def _moved(rel: str) -> str | None:
    """The module now at old path ``prefect_dask.<rel>`` (a ``MOVED`` entry, or a
    module under one: ``ui.server`` -> ``prefect_dask.app.ui.server``), else None.

    >>> _moved("ui.server")
    'prefect_dask.app.ui.server'
    """
    head, _, rest = rel.partition(".")
    new = MOVED.get(head)
    return None if new is None else f"{new}.{rest}" if rest else new


def _real_spec(rel: str) -> Any:
    """The spec of ``prefect_dask.<rel>`` if that module really exists, else None."""
    name = f"{OURS}.{rel}" if rel else OURS
    parent, _, _ = name.rpartition(".")
    try:
        module = importlib.import_module(parent)
    except ImportError:
        return None
    if module.__name__ != parent or not hasattr(module, "__path__"):
        return None  # an alias of another module: its files are not at this path
    return importlib.machinery.PathFinder.find_spec(name, module.__path__)


def lookup(rel: str) -> tuple[str, str] | None:
    """Where Prefect path ``rel`` is served from: ``("module", name)``, ``("object",
    "mod:attr")``, ``("package", rel)``, or None when there is nothing.

    >>> lookup("engine.signals")
    ('module', 'prefect_dask.signals')
    >>> lookup("engine.executors.dask")
    ('module', 'prefect_dask.executors.dask')
    >>> lookup("core.Edge")
    ('object', 'prefect_dask.flow:Edge')
    """
    if not rel or _real_spec(rel) is not None:
        return ("module", f"{OURS}.{rel}" if rel else OURS)
    value = PATHS.get(rel)
    if value is not None:
        if value == PACKAGE:
            return ("package", rel)
        module, name = _split(value)
        return ("object", value) if name else ("module", module)
    parts = rel.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        value = PATHS.get(".".join(parts[:cut]))
        if value:
            module, name = _split(value)
            target = ".".join([module, *parts[cut:]])
            try:
                found = name is None and importlib.util.find_spec(target) is not None
            except ImportError:  # under a module that is not a package
                found = False
            return ("module", target) if found else None
    return None


def _table_attribute(rel: str, name: str, module_name: str) -> Any:
    """Attribute ``name`` of the module at Prefect path ``rel``: a table entry or a child."""
    if name.startswith("__"):
        raise AttributeError(name)
    if not rel and module_name == OURS and name in MOVED:
        return importlib.import_module(f"{OURS}.{name}")
    key = f"{rel}.{name}" if rel else name
    value = PATHS.get(key)
    if value is not None and value != PACKAGE and ":" in value:
        module, attr = _split(value)
        return getattr(importlib.import_module(module), attr)
    if value is not None or _real_spec(key) is not None:
        return importlib.import_module(f"{OURS}.{key}")
    raise AttributeError(f"module {module_name!r} has no attribute {name!r}")


class _TableModule(types.ModuleType):
    """A package made from the table (``PACKAGE``), or a view of a module with children."""

    def __init__(self, name: str, rel: str, target: Any = None) -> None:
        super().__init__(name)
        self.__path__: list[str] = []
        self.__prefect_path__ = rel
        self.__target__ = target
        if target is not None:
            self.__doc__ = target.__doc__
            if hasattr(target, "__all__"):
                self.__all__ = list(target.__all__)
        else:
            self.__all__ = sorted(c for c in _CHILDREN.get(rel, ()) if ":" in PATHS[f"{rel}.{c}"])

    def __getattr__(self, name: str) -> Any:
        target = self.__dict__.get("__target__")
        if self.__name__ == PREFECT and _moved_name(target, name):
            raise AttributeError(f"module {PREFECT!r} has no attribute {name!r}")
        if target is not None and not name.startswith("__") and hasattr(target, name):
            return getattr(target, name)
        return _table_attribute(self.__dict__["__prefect_path__"], name, self.__name__)

    def __setattr__(self, name: str, value: Any) -> None:
        # importing a child sets it on its parent; a name of the viewed module wins, as
        # in Prefect 1, whose packages imported ``case`` from their ``case`` module
        target = self.__dict__.get("__target__")
        if isinstance(value, types.ModuleType) and target is not None and hasattr(target, name):
            return
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple:
        # pickled by reference (cloudpickle pickles a task's globals by value when the
        # program is __main__): the receiving process serves the same path again
        return (_served_module, (self.__prefect_path__, self.__name__ == PREFECT))

    def __dir__(self) -> list[str]:
        names = set(super().__dir__()) | _CHILDREN.get(self.__prefect_path__, set())
        if self.__target__ is not None:
            names |= set(dir(self.__target__))
        if self.__name__ == PREFECT:
            names = {n for n in names if not _moved_name(self.__target__, n)}
        return sorted(names)


def _moved_name(ours: Any, name: str) -> bool:
    """Whether ``prefect.<name>`` would be a moved module's old path (which only
    ``prefect_dask`` serves): a ``MOVED`` name that ``prefect_dask`` does not define
    as an object of its own (``prefect.resource_manager`` is the function)."""
    value = ours.__dict__.get(name)
    return name in MOVED and (value is None or isinstance(value, types.ModuleType))


class _ServedModule(types.ModuleType):
    """The class of a real module of ours along Prefect's paths (``_add_children``).

    Importing a child binds it on its parent.  Here that binding never replaces a
    name the module defines (``prefect_dask.resource_manager`` stays the function
    after ``import prefect_dask.resource_manager``; ``tasks.control_flow.case`` the
    function, as in Prefect 1), and a plain module, made a package only to hold
    table children, binds none: ``__getattr__`` serves them.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType):
            own = self.__dict__.get(name)
            spec = self.__dict__.get("__spec__")
            plain = spec is not None and spec.submodule_search_locations is None
            if plain or (own is not None and not isinstance(own, types.ModuleType)):
                return
        super().__setattr__(name, value)


def _served_module(rel: str, as_prefect: bool) -> Any:
    """The module this process serves at Prefect path ``rel`` (how a ``_TableModule``
    unpickles): ``prefect`` itself, with ``import prefect`` served here too, or the
    module at ``prefect_dask.<rel>``."""
    if as_prefect:
        if sys.modules.get(PREFECT) is not prefect_module():
            serve_prefect()
        return prefect_module()
    return importlib.import_module(f"{OURS}.{rel}")


class _Loader(importlib.abc.Loader):
    """Serves one Prefect path: an existing module, or a ``_TableModule``."""

    def __init__(self, rel: str, kind: str, target: str) -> None:
        self.rel, self.kind, self.target = rel, kind, target
        self.spec: Any = None   # the served module's own __spec__ (the import system
                                # overwrites it with ours; exec_module puts it back)

    def create_module(self, spec: Any) -> Any:
        if spec.name == PREFECT:
            return prefect_module()
        if self.kind == "moved":
            module = importlib.import_module(self.target)
            self.spec = module.__spec__
            return module
        if self.kind == "package":
            if self.rel in _SERVED:
                return _SERVED[self.rel]
            module = _SERVED[self.rel] = _TableModule(f"{OURS}.{self.rel}", self.rel)
            return module
        module = importlib.import_module(self.target)
        if self.rel in _CHILDREN and not hasattr(module, "__path__"):
            # a plain module with table children: serve a view that can hold them
            view = _SERVED.get(self.rel)
            if view is None:
                view = _SERVED[self.rel] = _TableModule(f"{OURS}.{self.rel}", self.rel, module)
            return view
        _add_children(module, self.rel)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: Any) -> None:
        """Nothing to run: the module is already imported (its own ``__spec__`` is kept)."""
        if self.spec is not None:
            module.__spec__ = self.spec


_SERVED: dict[str, Any] = {}  # Prefect path -> module made here (one per path, both routes)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``prefect_dask.<P>`` for table paths, and ``prefect.<P>`` once enabled."""

    serve_prefect = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.startswith(OURS + "."):
            rel = fullname[len(OURS) + 1:]
            if rel.split(".", 1)[0] == "compat" or _real_spec(rel) is not None:
                return None  # a real module: the normal import finds it
            moved = _moved(rel)
            if moved is not None:  # an old path of ours: the module now there
                new = importlib.util.find_spec(moved)
                return None if new is None else importlib.machinery.ModuleSpec(
                    fullname, _Loader(rel, "moved", moved),
                    is_package=new.submodule_search_locations is not None)
        elif self.serve_prefect and (fullname == PREFECT or fullname.startswith(PREFECT + ".")):
            rel = fullname[len(PREFECT) + 1:]
        else:
            return None
        where = lookup(rel)
        if where is None or where[0] == "object":
            if fullname.startswith(OURS + "."):
                return None
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: prefect_dask serves Prefect 1's cloud-free "
                f"modules, and {fullname} is not one of them. If your program needs it, "
                "run it under Prefect 1 itself.", name=fullname)
        kind, target_name = where
        return importlib.machinery.ModuleSpec(fullname, _Loader(rel, kind, target_name),
                                              is_package=kind == "package" or rel in _CHILDREN)


_FINDER = _Finder()


def _add_children(module: Any, rel: str) -> None:
    """Let a real module along Prefect's paths import its children on attribute access
    (a plain module with children in the table becomes a package: ``__path__ = []``)."""
    if getattr(module, "__prefect_path__", None) is not None:
        return
    if not hasattr(module, "__path__"):
        if rel not in _CHILDREN:
            return
        module.__path__ = []
    if type(module) is types.ModuleType:
        module.__class__ = _ServedModule
    previous = module.__dict__.get("__getattr__")

    def __getattr__(name: str) -> Any:
        if previous is not None:
            try:
                return previous(name)
            except AttributeError:
                pass
        return _table_attribute(rel, name, module.__name__)

    module.__prefect_path__ = rel
    module.__getattr__ = __getattr__


def install() -> None:
    """Serve Prefect 1's paths under ``prefect_dask`` (``import prefect_dask`` calls it)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _add_children(sys.modules[OURS], "")
    for rel in _CHILDREN:
        if rel and _real_spec(rel) is not None:
            _add_children(importlib.import_module(f"{OURS}.{rel}"), rel)


def serve_prefect() -> None:
    """Make ``import prefect`` (and every ``prefect.*`` path) import prefect_dask.

    Only ``python -m prefect_dask.compat`` calls this.  It refuses when a real
    ``prefect`` is already imported in this process.
    """
    existing = sys.modules.get(PREFECT)
    if existing is not None and existing is not prefect_module():
        raise RuntimeError(
            f"A real Prefect is already imported in this process ({existing!r}); "
            "prefect_dask.compat cannot serve `import prefect` beside it. Run the program "
            "with `python -m prefect_dask.compat FILE` in a fresh interpreter.")
    from ..utilities.logging import configure_logging

    install()
    _FINDER.serve_prefect = True
    sys.modules[PREFECT] = prefect_module()
    configure_logging(stream=sys.stdout)  # where Prefect 1 logged, unless logging is set up


PREFECT_VERSION = "1.4.1"   # the Prefect whose API is served (programs compare versions)


def prefect_module() -> Any:
    """The ``prefect`` module of compat runs: prefect_dask's names (the same objects),
    with ``__version__`` the Prefect 1 version served."""
    module = _SERVED.get(PREFECT)
    if module is None:
        ours = sys.modules[OURS]
        module = _SERVED[PREFECT] = _TableModule(PREFECT, "", ours)
        module.__version__ = PREFECT_VERSION
        module.__file__ = ours.__file__
    return module


_SHIM = '''"""prefect for a child spawned by `python -m prefect_dask.compat` (a temporary file)."""
import sys
import prefect_dask
from prefect_dask.compat import prefect_module, serve_prefect
sys.modules[__name__] = prefect_module()
serve_prefect()
'''


def _shim_path() -> None:
    """Children spawned by the program (the processes executor) get this process's
    ``sys.path`` and import the program again, ``import prefect`` included: a
    temporary directory on the path holds a ``prefect`` package that turns the hook
    on in them.  It is removed when this process exits."""
    import atexit
    import shutil
    import tempfile

    shim = tempfile.mkdtemp(prefix="prefect_dask_compat_")
    os.mkdir(os.path.join(shim, PREFECT))
    with open(os.path.join(shim, PREFECT, "__init__.py"), "w") as fh:
        fh.write(_SHIM)
    atexit.register(shutil.rmtree, shim, True)
    sys.path.insert(1, shim)


USAGE = "python -m prefect_dask.compat path/to/flow.py [ARGS...]"


class UsageError(Exception):
    """A mistake in the ``python -m prefect_dask.compat`` command line."""


def run_file(path: str, args: list[str] | None = None) -> None:
    """Run the Prefect 1 program ``path`` as ``python path args...`` would, with
    ``import prefect`` served by prefect_dask: it is ``__main__`` (its ``__file__``
    absolute, ``sys.argv[0]`` as given) and its directory is first on ``sys.path``."""
    if not os.path.isfile(path):
        hint = " (it is a directory)" if os.path.isdir(path) else ""
        raise UsageError(
            f"prefect_dask.compat: no such file {path!r}{hint}. Give the path of a Prefect 1 "
            f"program: {USAGE}")
    serve_prefect()   # sets logging up, as Prefect 1 did on import (a module-level logger
    # logs from the first line, unless the program configures logging itself)
    sys.argv = [path, *(args or [])]
    where = os.path.abspath(path)
    sys.path[0] = os.path.dirname(where)
    _shim_path()
    main_module = types.ModuleType("__main__")
    main_module.__file__ = where
    main_module.__builtins__ = builtins
    sys.modules["__main__"] = main_module
    with open(where, "rb") as fh:
        code = compile(fh.read(), where, "exec")
    exec(code, main_module.__dict__)


def main(argv: list[str] | None = None) -> int:
    """``python -m prefect_dask.compat FILE [ARGS...]``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {USAGE}\n\nRuns an unmodified Prefect 1 program on prefect_dask: "
              "inside it `import prefect` and Prefect 1's module paths are served by "
              "prefect_dask.", file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    try:
        run_file(argv[0], argv[1:])
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (Exception, signals.PrefectSignal) as exc:  # as `python FILE` reports it (a
        # signal, a BaseException here, as any error in Prefect 1): the program's frames only
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != os.path.abspath(argv[0]):
            tb = tb.tb_next
        exc = exc.with_traceback(tb or exc.__traceback__)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return 1
    return 0
