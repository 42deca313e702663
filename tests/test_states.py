"""Pure unit tests of the state values: hierarchy, predicates, immutability, replace()."""

from __future__ import annotations

import dataclasses

import pytest

from prefect_dask import states
from prefect_dask.states import (Cached, Cancelled, Failed, Finished, Looped, Mapped, MapStates,
                                 Pending, Retrying, Running, Scheduled, Skipped, State, Success,
                                 TimedOut, TriggerFailed)

ALL = [Pending, Scheduled, Retrying, Running, Finished, Success, Cached, Mapped, Skipped, Failed,
       TimedOut, TriggerFailed, Looped, Cancelled]


@pytest.mark.parametrize("child, parent", [
    (Cached, Success), (Mapped, Success), (Skipped, Success),
    (TimedOut, Failed), (TriggerFailed, Failed),
    (Scheduled, Pending), (Retrying, Scheduled), (Retrying, Pending),
    (Success, Finished), (Failed, Finished), (Looped, Finished), (Cancelled, Finished),
])
def test_hierarchy(child, parent):
    assert issubclass(child, parent)
    assert issubclass(child, State)


@pytest.mark.parametrize("a, b", [
    (Success, Failed), (Failed, Success), (Skipped, Failed), (Running, Finished),
    (Pending, Finished), (Looped, Success), (Cancelled, Failed), (Running, Pending),
    (TriggerFailed, TimedOut), (Cached, Skipped),
])
def test_not_in_hierarchy(a, b):
    assert not issubclass(a, b)


# predicate name -> the classes for which it is True
PREDICATES = {
    "is_pending": {Pending, Scheduled, Retrying},
    "is_scheduled": {Scheduled, Retrying},
    "is_retrying": {Retrying},
    "is_running": {Running},
    "is_finished": {Finished, Success, Cached, Mapped, Skipped, Failed, TimedOut, TriggerFailed,
                    Looped, Cancelled},
    "is_successful": {Success, Cached, Mapped, Skipped},
    "is_failed": {Failed, TimedOut, TriggerFailed},
    "is_skipped": {Skipped},
    "is_mapped": {Mapped},
    "is_cached": {Cached},
    "is_looped": {Looped},
    "is_cancelled": {Cancelled},
}


@pytest.mark.parametrize("predicate", sorted(PREDICATES))
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_predicates(predicate, cls):
    assert getattr(cls(), predicate)() is (cls in PREDICATES[predicate])


def test_skipped_counts_as_success_not_failure():
    s = Skipped("nope")
    assert s.is_successful() and s.is_finished() and not s.is_failed()


def test_result_and_message():
    s = Success("done", result=3)
    assert (s.message, s.result) == ("done", 3)
    exc = ValueError("bad")
    f = Failed(exc, result=exc)
    assert f.message is exc and f.result is exc
    assert Pending().message is None and Pending().result is None


def test_keyword_construction():
    s = Success(message="m", result=[1], attempts=2)
    assert s.message == "m" and s.result == [1] and s.attempts == 2


def test_default_bookkeeping():
    s = Success()
    assert s.attempts == 0 and s.map_index is None


def test_mapped_holds_children():
    m = Mapped(map_states=(Success(result=1), Failed()))
    assert [type(c) for c in m.map_states] == [Success, Failed]
    assert m.is_successful() and m.is_mapped()


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("field", ["result", "message", "attempts"])
def test_immutable(cls, field):
    s = cls(result=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(s, field, 2)
    assert s.result == 1


def test_no_new_attributes():
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        Success().extra = 1  # type: ignore[attr-defined]


def test_replace_returns_new_state():
    old = Success("ok", result=1, attempts=1)
    new = old.replace(result=2, attempts=3)
    assert type(new) is Success
    assert (new.message, new.result, new.attempts) == ("ok", 2, 3)
    assert (old.result, old.attempts) == (1, 1)   # the old value is untouched
    assert new is not old


def test_replace_keeps_subclass_fields():
    r = Retrying("again", start_time=5.0, attempts=1)
    r2 = r.replace(attempts=2)
    assert type(r2) is Retrying and r2.start_time.timestamp() == 5.0 and r2.attempts == 2
    m = Mapped(map_states=(Success(),))
    assert len(m.replace(result=[None]).map_states) == 1


def test_replace_unknown_field_raises():
    with pytest.raises(TypeError):
        Success().replace(colour="red")


def test_from_state_carries_bookkeeping():
    old = Running(attempts=2, task_name="t", map_index=4)
    new = Failed.from_state(old, "bad", result=None)
    assert type(new) is Failed and new.message == "bad"
    assert (new.attempts, new.task_name, new.map_index) == (2, "t", 4)


def test_repr_names_class_and_message():
    assert repr(Success("fine")) == '<Success: "fine">'
    assert repr(Success()) == '<Success>'
    assert repr(Pending()) == "<Pending>"


def test_all_is_literal_and_complete():
    for name in states.__all__:
        assert isinstance(getattr(states, name), type)
    assert {c.__name__ for c in ALL} <= set(states.__all__)


def test_dask_sees_the_size_of_what_a_state_holds():
    """Dask's scheduler and workers size data with dask.sizeof: a State counts its result,
    a mapped parent and a MapStates their children's results."""
    from dask.sizeof import sizeof

    mb = bytes(2**20)
    assert sizeof(Success(result=mb)) >= 2**20
    children = MapStates.from_states("t", [Success(result=mb, map_index=i) for i in range(20)])
    assert sizeof(children) >= 20 * 2**20
    assert sizeof(Mapped(map_states=children, result=list(children.results))) >= 20 * 2**20
    assert sizeof(Mapped(map_states=None)) < 1000     # a parent's shell, children elsewhere


def test_hierarchy_queries_and_prefect1_leftovers():
    assert Failed.children() == [TimedOut, TriggerFailed, states.ValidationFailed,
                                 states.Crashed]
    assert Cached.parents() == [Success, Finished, State]
    assert Mapped(map_states=MapStates.from_states("t", [Success(map_index=0)])).n_map_states == 1
    s = Success(result=3)
    assert s.load_result() is s and not s.is_queued() and not s.is_submitted()
