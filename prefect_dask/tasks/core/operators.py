"""Operator tasks (Prefect 1's ``prefect.tasks.core.operators``).

``task[key]`` builds a ``GetItem`` and ``a + b`` an operator task for you; these
classes are the same operations for direct use: ``Add()(x, y)``,
``GetAttr()(obj, "a.b")``, ``GetItem(default=0)(d, "k")``.

>>> Add().run(2, 3), Not().run(0), GetAttr().run(1j, "imag"), GetItem(default=0).run({}, "k")
(5, True, 1.0, 0)
"""

from __future__ import annotations

import operator
from typing import Any

from ...task import NO_DEFAULT, GetItem, Task
from ...utilities.tasks import defaults_from_attrs

__all__ = [
    "GetItem", "GetAttr", "Add", "Sub", "Mul", "Div", "FloorDiv", "Pow", "Mod", "And", "Or",
    "Not", "Equal", "NotEqual", "GreaterThan", "GreaterThanOrEqual", "LessThan",
    "LessThanOrEqual",
]


class GetAttr(Task):
    """``getattr`` on a task's result; ``attr`` may be dotted (``"a.b"``); ``default`` is
    returned when the attribute is missing."""

    def __init__(self, default: Any = NO_DEFAULT, **kwargs: Any) -> None:
        self.default = default
        super().__init__(**kwargs)

    @defaults_from_attrs("default")
    def run(self, task_result: Any, attr: str,  # type: ignore[override]
            default: Any = NO_DEFAULT) -> Any:
        try:
            return operator.attrgetter(attr)(task_result)
        except AttributeError:
            if default is NO_DEFAULT:
                raise
            return default


class _Binary(Task):
    """A task returning ``op(x, y)``."""

    op = staticmethod(operator.add)

    def run(self, x: Any, y: Any) -> Any:  # type: ignore[override]
        return type(self).op(x, y)


def _and(x: Any, y: Any) -> Any:
    return x and y


def _or(x: Any, y: Any) -> Any:
    return x or y


class Add(_Binary):
    """``x + y``"""
    op = staticmethod(operator.add)


class Sub(_Binary):
    """``x - y``"""
    op = staticmethod(operator.sub)


class Mul(_Binary):
    """``x * y``"""
    op = staticmethod(operator.mul)


class Div(_Binary):
    """``x / y``"""
    op = staticmethod(operator.truediv)


class FloorDiv(_Binary):
    """``x // y``"""
    op = staticmethod(operator.floordiv)


class Pow(_Binary):
    """``x ** y``"""
    op = staticmethod(operator.pow)


class Mod(_Binary):
    """``x % y``"""
    op = staticmethod(operator.mod)


class And(_Binary):
    """``x and y``"""
    op = staticmethod(_and)


class Or(_Binary):
    """``x or y``"""
    op = staticmethod(_or)


class Equal(_Binary):
    """``x == y``"""
    op = staticmethod(operator.eq)


class NotEqual(_Binary):
    """``x != y``"""
    op = staticmethod(operator.ne)


class GreaterThan(_Binary):
    """``x > y``"""
    op = staticmethod(operator.gt)


class GreaterThanOrEqual(_Binary):
    """``x >= y``"""
    op = staticmethod(operator.ge)


class LessThan(_Binary):
    """``x < y``"""
    op = staticmethod(operator.lt)


class LessThanOrEqual(_Binary):
    """``x <= y``"""
    op = staticmethod(operator.le)


class Not(Task):
    """``not x``"""

    def run(self, x: Any) -> bool:  # type: ignore[override]
        return not x
