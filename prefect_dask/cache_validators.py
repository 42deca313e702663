"""Cache validators: ``fn(cached_state, inputs, parameters) -> bool`` (Prefect 1's names).

``cached_state`` is a ``Cached`` state from an earlier run, carrying
``cached_result_expiration``, ``hashed_inputs`` (``dask.base.tokenize`` of each
input) and ``cached_parameters``.  Every validator but ``never_use`` first
requires the entry not to have expired.

>>> import datetime
>>> from prefect_dask.states import Cached
>>> later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
>>> s = Cached(result=3, cached_result_expiration=later, hashed_inputs={"x": tokenize(1)})
>>> duration_only(s, {"x": 2}, {}), all_inputs(s, {"x": 1}, {}), all_inputs(s, {"x": 2}, {})
(True, True, False)
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dask.base import tokenize

from .states import State

__all__ = ["never_use", "duration_only", "all_inputs", "all_parameters", "partial_inputs_only",
           "partial_parameters_only", "hash_inputs"]

Validator = Callable[[State, Mapping[str, Any], Mapping[str, Any]], bool]


def hash_inputs(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Each input's ``dask.base.tokenize`` token."""
    return {k: tokenize(v) for k, v in inputs.items()}


def never_use(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Never use a cached result."""
    return False


def duration_only(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Valid until ``cache_for`` has passed (the default)."""
    expires = getattr(state, "cached_result_expiration", None)
    return expires is None or expires > now()


def now() -> datetime.datetime:
    """The time by the run's clock (``context.clock``, which a flow run sets around its
    validators), else the wall clock."""
    from .context import context

    clock = context.get("clock")
    seconds = clock.now() if clock is not None else time.time()
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def all_inputs(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Valid while not expired and every input is the same as when cached."""
    return duration_only(state, inputs, parameters) and \
        getattr(state, "hashed_inputs", None) == hash_inputs(inputs)


def all_parameters(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Valid while not expired and the flow's parameters are the same as when cached."""
    return duration_only(state, inputs, parameters) and \
        dict(getattr(state, "cached_parameters", None) or {}) == dict(parameters or {})


def partial_inputs_only(validate_on: Iterable[str] | None = None) -> Validator:
    """Valid while not expired and the inputs named in ``validate_on`` are unchanged."""
    return _partial("partial_inputs_only", validate_on, "hashed_inputs",
                    lambda inputs, parameters: hash_inputs(inputs or {}))


def partial_parameters_only(validate_on: Iterable[str] | None = None) -> Validator:
    """Valid while not expired and the parameters named in ``validate_on`` are unchanged."""
    return _partial("partial_parameters_only", validate_on, "cached_parameters",
                    lambda inputs, parameters: parameters or {})


def _partial(name: str, validate_on: Iterable[str] | None, field: str,
             now: Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]
             ) -> Validator:
    """A validator comparing, of the values ``now`` gives, those named in ``validate_on``
    (all of them if None: then only expiry counts) with the cache entry's ``field``."""
    names = None if validate_on is None else set(validate_on)

    def validator(state: State, inputs: Mapping[str, Any],
                  parameters: Mapping[str, Any]) -> bool:
        if not duration_only(state, inputs, parameters):
            return False
        if names is None:
            return True
        cached = getattr(state, field, None) or {}
        return {k: v for k, v in now(inputs, parameters).items() if k in names} == \
            {k: v for k, v in cached.items() if k in names}

    validator.__name__ = validator.__qualname__ = f"_{name}"
    return validator
