"""The referral loop's pure rules: who takes which action from which state, when a consult was
held, and when a scheduled referral's consult fell through."""

from datetime import UTC, datetime, timedelta

import pytest

from telehealth.referrals.rules import (
    CLOSED,
    TRANSITIONS,
    UNTIED,
    Action,
    Actor,
    ReferralState,
    fell_through,
    held,
    may,
    next_state,
)
from telehealth.scheduling.rules import AppointmentStatus

NOW = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def test_a_closed_referral_goes_nowhere_and_every_open_one_can_be_let_go() -> None:
    for state in ReferralState:
        reachable = {action for action in Action if next_state(state, action) is not None}
        if state in CLOSED:
            assert reachable == set(), state
        else:  # the clinic can always withdraw, the specialist decline
            assert {Action.WITHDRAW, Action.DECLINE} <= reachable, state


def test_only_the_clinic_withdraws_and_only_a_specialist_answers() -> None:
    assert may(Action.WITHDRAW, Actor.CLINIC) and not may(Action.WITHDRAW, Actor.SPECIALIST)
    assert may(Action.ANSWER, Actor.SPECIALIST) and not may(Action.ANSWER, Actor.CLINIC)
    assert may(Action.SCHEDULE, Actor.CLINIC) and may(Action.SCHEDULE, Actor.SPECIALIST)


def test_a_scheduled_referral_moves_on_only_by_what_its_consult_falling_through_allows() -> None:
    from_scheduled = {a for a in Action if next_state(ReferralState.SCHEDULED, a) is not None}
    assert from_scheduled == UNTIED | {Action.COMPLETE}
    assert next_state(ReferralState.SCHEDULED, Action.SCHEDULE) is ReferralState.SCHEDULED
    assert TRANSITIONS[Action.ANSWER][0] == frozenset({ReferralState.ACCEPTED})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (AppointmentStatus.CANCELLED, True),
        (AppointmentStatus.NOSHOW, True),
        (AppointmentStatus.ENTERED_IN_ERROR, True),
        (None, True),  # the consult's row is gone
        (AppointmentStatus.BOOKED, False),
        (AppointmentStatus.ARRIVED, False),
        (AppointmentStatus.FULFILLED, False),
    ],
)
def test_a_consult_fell_through_when_it_will_not_take_place(
    status: AppointmentStatus | None, expected: bool
) -> None:
    assert fell_through(status) is expected


def test_a_consult_was_held_once_fulfilled_or_begun_and_not_when_it_fell_through() -> None:
    began, ahead = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)
    assert held(AppointmentStatus.FULFILLED, ahead, NOW)
    assert held(AppointmentStatus.BOOKED, began, NOW)
    assert held(AppointmentStatus.ARRIVED, began, NOW)
    assert not held(AppointmentStatus.BOOKED, ahead, NOW)
    for status in (
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NOSHOW,
        AppointmentStatus.ENTERED_IN_ERROR,
    ):
        assert not held(status, began, NOW)
        assert fell_through(status)
