"""Prefect 1's ``prefect.utilities.collections``: ``DotDict``, a dict whose keys read and
write as attributes too.

>>> d = DotDict(a=1, b={"c": 2})
>>> d.a, d["b"], d
(1, {'c': 2}, <DotDict: 'a', 'b'>)
>>> d.x = 3
>>> d["x"], d.get("missing"), d.to_dict()
(3, None, {'a': 1, 'b': {'c': 2}, 'x': 3})
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = ["DotDict"]


class DotDict(MutableMapping):
    """A mutable mapping whose items are also its attributes (``d.key`` is ``d["key"]``)."""

    def __init__(self, init_dict: Any = None, **kwargs: Any) -> None:
        if init_dict:
            self.update(init_dict)
        self.update(kwargs)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def __delitem__(self, key: str) -> None:
        del self.__dict__[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def copy(self) -> "DotDict":
        """A shallow copy."""
        return type(self)(self.__dict__)

    def to_dict(self) -> dict:
        """A plain dict, nested DotDicts (also inside lists) turned into dicts."""
        return {k: _plain(v) for k, v in self.items()}

    def __repr__(self) -> str:
        keys = ", ".join(sorted(map(repr, self)))
        return f"<{type(self).__name__}: {keys}>" if keys else f"<{type(self).__name__}>"


def _plain(value: Any) -> Any:
    if isinstance(value, DotDict):
        return value.to_dict()
    if isinstance(value, (list, tuple, set)):
        return type(value)(_plain(v) for v in value)
    return value
