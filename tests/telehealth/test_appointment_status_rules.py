"""Where an appointment may go from each status (FHIR's workflow), and when each outcome may be
recorded: the rules the service, the consult room and the calendar all read."""

from datetime import UTC, datetime, timedelta

import pytest

from telehealth.scheduling.errors import APPOINTMENT_STATUS, InvalidAppointmentTransition
from telehealth.scheduling.rules import (
    CALLED_OFF,
    HOLDING,
    LIVE,
    AppointmentStatus,
    Change,
    RecordedStatus,
    check_change,
    recordable_from,
)

S = AppointmentStatus
# change -> the statuses it may follow; every other status refuses it
ALLOWED: dict[Change, set[AppointmentStatus]] = {
    S.CANCELLED: {S.BOOKED, S.ARRIVED},
    "rescheduled": {S.BOOKED},
    "refunded": {S.FULFILLED},
    S.ARRIVED: {S.BOOKED},
    S.FULFILLED: {S.BOOKED, S.ARRIVED},
    S.NOSHOW: {S.BOOKED, S.ARRIVED},
    S.ENTERED_IN_ERROR: set(S) - {S.ENTERED_IN_ERROR},
}


@pytest.mark.parametrize("change", list(ALLOWED))
@pytest.mark.parametrize("status", list(S))
def test_each_change_follows_only_its_statuses(status: AppointmentStatus, change: Change) -> None:
    if status in ALLOWED[change]:
        check_change(status, change)
    else:
        with pytest.raises(InvalidAppointmentTransition) as refused:
            check_change(status, change)
        assert refused.value.params == {"status": status, "target": change}
        said, becoming = APPOINTMENT_STATUS[str(status)].en, APPOINTMENT_STATUS[str(change)].en
        assert str(refused.value) == f"An appointment that is {said} cannot become {becoming}."


def test_a_stored_status_is_read_as_the_same_word() -> None:
    check_change("booked", "rescheduled")  # rows hold plain strings
    with pytest.raises(InvalidAppointmentTransition):
        check_change("fulfilled", S.CANCELLED)


def test_the_vocabularies_derived_from_the_statuses() -> None:
    assert {str(s) for s in RecordedStatus} == {
        "arrived",
        "fulfilled",
        "noshow",
        "entered-in-error",
    }
    assert set(LIVE) < set(HOLDING)  # a live consult holds the doctor's time
    assert not set(HOLDING) & set(CALLED_OFF)


def test_when_each_outcome_may_be_recorded() -> None:
    start = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
    assert recordable_from(RecordedStatus.ARRIVED, start) == start - timedelta(hours=1)
    assert recordable_from(RecordedStatus.FULFILLED, start) == start
    assert recordable_from(RecordedStatus.NOSHOW, start) == start
    assert recordable_from(RecordedStatus.ENTERED_IN_ERROR, start) is None
