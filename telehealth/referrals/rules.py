"""The referral loop's states and who moves a referral from one to the next: pure, no I/O.

A rural clinic refers a registered patient to a specialty (NOM-004-SSA3-2012's referral note);
a specialist of that specialty accepts or declines it; an accepted referral is either answered
in writing (an eConsult: the specialist's interconsultation note and plan, no visit needed) or
scheduled (a consult booked with the specialist), and a scheduled one is completed once the
consult took place, with the counter-referral (the specialist's signed note and the consult's
prescriptions) returned to the clinic. The clinic may withdraw a referral nobody has answered
yet. A scheduled referral whose consult fell through (cancelled, missed, entered in error) is not
stuck: it is linked to another consult, declined or withdrawn (`fell_through`)."""

from datetime import datetime
from enum import StrEnum

from telehealth.scheduling.rules import AppointmentStatus


class ReferralState(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ANSWERED = "answered"  # in writing: the loop is closed without a visit
    SCHEDULED = "scheduled"
    COMPLETED = "completed"  # after the visit, with the counter-referral
    WITHDRAWN = "withdrawn"


class Urgency(StrEnum):
    ROUTINE = "routine"
    PRIORITY = "priority"  # within days
    URGENT = "urgent"  # within a day


class Action(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    ANSWER = "answer"
    SCHEDULE = "schedule"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"


class Actor(StrEnum):
    SPECIALIST = "specialist"  # a doctor of the specialty; once accepted, the one who accepted
    CLINIC = "clinic"  # staff of the referring clinic


# (action) -> (the states it may start from, who may take it, the state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[ReferralState], frozenset[Actor], ReferralState]] = {
    Action.ACCEPT: (
        frozenset({ReferralState.SENT}),
        frozenset({Actor.SPECIALIST}),
        ReferralState.ACCEPTED,
    ),
    Action.DECLINE: (
        frozenset({ReferralState.SENT, ReferralState.ACCEPTED, ReferralState.SCHEDULED}),
        frozenset({Actor.SPECIALIST}),
        ReferralState.DECLINED,
    ),
    Action.ANSWER: (
        frozenset({ReferralState.ACCEPTED}),
        frozenset({Actor.SPECIALIST}),
        ReferralState.ANSWERED,
    ),
    Action.SCHEDULE: (
        frozenset({ReferralState.ACCEPTED, ReferralState.SCHEDULED}),
        frozenset({Actor.SPECIALIST, Actor.CLINIC}),
        ReferralState.SCHEDULED,
    ),
    Action.COMPLETE: (
        frozenset({ReferralState.SCHEDULED}),
        frozenset({Actor.SPECIALIST}),
        ReferralState.COMPLETED,
    ),
    Action.WITHDRAW: (
        frozenset({ReferralState.SENT, ReferralState.ACCEPTED, ReferralState.SCHEDULED}),
        frozenset({Actor.CLINIC}),
        ReferralState.WITHDRAWN,
    ),
}

CLOSED = frozenset(
    {
        ReferralState.DECLINED,
        ReferralState.ANSWERED,
        ReferralState.COMPLETED,
        ReferralState.WITHDRAWN,
    }
)

SHUT = frozenset({ReferralState.DECLINED, ReferralState.WITHDRAWN})
"""Closed without an answer: no file is added to these (an answered or completed referral
still takes the clinic's follow-up results)."""


def may(action: Action, actor: Actor) -> bool:
    """Whether this kind of actor ever takes this action (otherwise the referral is not theirs
    to act on, whatever its state)."""
    return actor in TRANSITIONS[action][1]


def next_state(state: ReferralState, action: Action) -> ReferralState | None:
    """Where `action` leads from `state`, or None when it may not be taken from there."""
    starts, _actors, leads_to = TRANSITIONS[action]
    return leads_to if state in starts else None


UNTIED = frozenset({Action.SCHEDULE, Action.DECLINE, Action.WITHDRAW})
"""What a scheduled referral may still do, only once its consult fell through."""

FELL_THROUGH = frozenset(
    {AppointmentStatus.CANCELLED, AppointmentStatus.NOSHOW, AppointmentStatus.ENTERED_IN_ERROR}
)


def fell_through(status: str | None) -> bool:
    """Whether a scheduled referral's consult will not take place, so the referral may be
    linked to another consult, declined or withdrawn: cancelled, missed, entered in error, or
    gone (`status` None)."""
    return status is None or status in FELL_THROUGH


def held(status: str, start: datetime, now: datetime) -> bool:
    """Whether a referral's consult has taken place, for completing the referral: recorded as
    fulfilled, or still booked (or arrived) with its start passed: a doctor signing the note of
    a consult that began has held it, though the status is often recorded later (or never). A
    consult cancelled, missed or entered in error was not held; one still to start, not yet."""
    if status == AppointmentStatus.FULFILLED:
        return True
    return status in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED) and start <= now
