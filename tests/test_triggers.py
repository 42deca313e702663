"""Pure tests of every trigger function, fed dicts of upstream states.

Semantics follow Prefect 1.4.1's ``prefect.triggers``: a trigger that does not
pass raises ``signals.TRIGGERFAIL``; ``manual_only`` raises ``PAUSE``;
``not_all_skipped`` raises ``SKIP`` when every upstream skipped; Skipped counts
as a success, TriggerFailed as a failure; a Mapped parent counts as its children.
"""

from __future__ import annotations

import pytest

from prefect_dask import signals, triggers
from prefect_dask.states import (Failed, Mapped, Paused, Pending, Retrying, Running, Skipped,
                                 Success, TimedOut, TriggerFailed)


def ups(*states):
    """An upstream_states dict (keys are opaque to triggers)."""
    return {f"edge{i}": s for i, s in enumerate(states)}


def passes(trigger, upstream) -> bool:
    """True if ``trigger`` lets the task run; False if it raised TRIGGERFAIL."""
    try:
        ok = trigger(upstream)
    except signals.TRIGGERFAIL:
        return False
    assert ok is True
    return True


S, F, K = Success, Failed, Skipped


@pytest.mark.parametrize("states, expected", [
    ((), True),
    ((S(),), True),
    ((S(), K()), True),
    ((S(), F()), False),
    ((TriggerFailed(),), False),
    ((TimedOut(),), False),
    ((Mapped(map_states=(S(), S())),), True),
    ((Mapped(map_states=(S(), F())),), False),
])
def test_all_successful(states, expected):
    assert passes(triggers.all_successful, ups(*states)) is expected


def test_all_successful_raises_triggerfail_with_message():
    with pytest.raises(signals.TRIGGERFAIL, match="all_successful"):
        triggers.all_successful(ups(S(), F()))


def test_triggerfail_is_a_fail_signal_ending_triggerfailed():
    assert issubclass(signals.TRIGGERFAIL, signals.FAIL)
    assert isinstance(signals.TRIGGERFAIL("x").state, TriggerFailed)


@pytest.mark.parametrize("states, expected", [
    ((), True),
    ((F(),), True),
    ((F(), TriggerFailed(), TimedOut()), True),
    ((F(), S()), False),
    ((K(),), False),
    ((Mapped(map_states=(F(), F())),), True),
    ((Mapped(map_states=(F(), S())),), False),
])
def test_all_failed(states, expected):
    assert passes(triggers.all_failed, ups(*states)) is expected


@pytest.mark.parametrize("states, expected", [
    ((), True),                       # no upstream: runs
    ((F(), S()), True),
    ((F(), K()), True),               # skipped is a success
    ((F(), TriggerFailed()), False),
    ((Mapped(map_states=(F(), S())),), True),
    ((Mapped(map_states=(F(), F())),), False),
])
def test_any_successful(states, expected):
    assert passes(triggers.any_successful, ups(*states)) is expected


@pytest.mark.parametrize("states, expected", [
    ((), True),
    ((S(), F()), True),
    ((S(), TimedOut()), True),
    ((S(), K()), False),
    ((Mapped(map_states=(S(), F())), S()), True),
    ((Mapped(map_states=(S(), S())),), False),
])
def test_any_failed(states, expected):
    assert passes(triggers.any_failed, ups(*states)) is expected


@pytest.mark.parametrize("trigger", [triggers.all_finished, triggers.always_run])
@pytest.mark.parametrize("states, expected", [
    ((), True),
    ((S(), F(), K(), TriggerFailed()), True),
    ((S(), Running()), False),
    ((Pending(),), False),
    ((Retrying(),), False),
    ((Mapped(map_states=(S(), F())),), True),
    ((Mapped(map_states=(S(), Pending())),), False),
])
def test_all_finished_and_always_run(trigger, states, expected):
    assert passes(trigger, ups(*states)) is expected


def test_always_run_is_all_finished():
    assert triggers.always_run is triggers.all_finished


@pytest.mark.parametrize("states", [(), (S(),), (F(),)])
def test_manual_only_pauses(states):
    with pytest.raises(signals.PAUSE) as info:
        triggers.manual_only(ups(*states))
    assert isinstance(info.value.state, Paused)


# -- some_successful / some_failed: absolute counts and fractions (< 1) --------------

@pytest.mark.parametrize("kwargs, states, expected", [
    ({}, (S(), F()), True),
    ({"at_least": 1}, (S(), F()), True),
    ({"at_least": 2}, (S(), F()), False),
    ({"at_least": 2}, (S(), K(), F()), True),              # skipped counts as success
    ({"at_most": 1}, (S(), F()), True),
    ({"at_most": 1}, (S(), S(), F()), False),
    ({"at_least": 1, "at_most": 2}, (S(), S(), S()), False),
    ({"at_least": 0.5}, (S(), F()), True),                 # 1 >= 0.5 * 2
    ({"at_least": 0.5}, (S(), F(), F()), False),           # 1 < 0.5 * 3
    ({"at_least": 0.6}, (S(), S(), F(), F(), F()), False),  # 2 < 3
    ({"at_least": 0.6}, (S(), S(), S(), F(), F()), True),   # 3 >= 3
    ({"at_most": 0.5}, (S(), S(), F()), False),            # 2 > 1.5
    ({"at_most": 0.5}, (S(), F(), F()), True),
    ({"at_least": 3}, (Mapped(map_states=(S(), S(), S())),), True),   # children count
    ({"at_least": 3}, (Mapped(map_states=(S(), S(), F())),), False),
    ({"at_least": 5}, (), True),                            # no upstream: runs
])
def test_some_successful(kwargs, states, expected):
    assert passes(triggers.some_successful(**kwargs), ups(*states)) is expected


@pytest.mark.parametrize("kwargs, states, expected", [
    ({}, (S(), F()), True),
    ({"at_least": 1}, (S(), S()), False),
    ({"at_least": 1}, (S(), TriggerFailed()), True),      # TriggerFailed is a failure
    ({"at_least": 2}, (F(), TimedOut(), S()), True),
    ({"at_most": 0}, (S(), K()), True),
    ({"at_most": 0}, (S(), F()), False),
    ({"at_least": 0.5}, (F(), S()), True),
    ({"at_least": 0.5}, (F(), S(), S()), False),
    ({"at_most": 0.34}, (F(), S(), S()), True),            # 1 <= 1.02
    ({"at_most": 0.3}, (F(), S(), S()), False),            # 1 > 0.9
    ({"at_least": 2}, (Mapped(map_states=(F(), F(), S())),), True),
    ({"at_least": 1}, (), True),
])
def test_some_failed(kwargs, states, expected):
    assert passes(triggers.some_failed(**kwargs), ups(*states)) is expected


def test_some_triggers_raise_triggerfail():
    with pytest.raises(signals.TRIGGERFAIL, match="some_successful"):
        triggers.some_successful(at_least=2)(ups(S(), F()))
    with pytest.raises(signals.TRIGGERFAIL, match="some_failed"):
        triggers.some_failed(at_least=2)(ups(S(), F()))


# -- not_all_skipped -----------------------------------------------------------------

def test_not_all_skipped_runs_when_some_not_skipped():
    assert triggers.not_all_skipped(ups(S(), K())) is True
    assert triggers.not_all_skipped(ups(Mapped(map_states=(K(), S())))) is True


def test_not_all_skipped_skips_when_all_skipped():
    with pytest.raises(signals.SKIP) as info:
        triggers.not_all_skipped(ups(K(), K()))
    assert isinstance(info.value.state, Skipped)
    assert info.value.state.result is None       # Prefect 1: SKIP(..., result=None)
    with pytest.raises(signals.SKIP):
        triggers.not_all_skipped(ups(Mapped(map_states=(K(), K()))))


def test_not_all_skipped_fails_when_an_upstream_failed():
    with pytest.raises(signals.TRIGGERFAIL, match="not_all_skipped"):
        triggers.not_all_skipped(ups(K(), F()))


# -- the mapped-parent rule, shared by every trigger -----------------------------------

def test_mapped_parent_counts_as_its_children():
    parent = Mapped(map_states=(S(), F(), F()))
    other = S(result="other")
    flat = triggers.upstream_state_list(ups(parent, other))
    assert len(flat) == 4
    assert [s for s in flat if s is not other] == list(parent.map_states)
    # the parent itself is a Success, but its failed children make all_successful fail
    assert parent.is_successful()
    assert not passes(triggers.all_successful, ups(parent))
    assert passes(triggers.some_failed(at_least=2), ups(parent))
    assert not passes(triggers.some_failed(at_least=3), ups(parent))


def test_empty_mapped_parent_has_no_children():
    parent = Mapped(map_states=())
    assert passes(triggers.all_successful, ups(parent))
    assert passes(triggers.all_failed, ups(parent))
