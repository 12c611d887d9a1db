"""The date rules of a vote: its window, a member initiative's roll and length, and when an
amendment may take effect. Each refusal is its own problem type."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.governance import rules
from cooperative.governance.errors import (
    ClosesBeforeOpening,
    EffectiveBeforeClose,
    EffectiveDateOutOfRange,
    InitiativeRecordDate,
    InitiativeTooShort,
    InvalidProposal,
    OpensInThePast,
    RecordDateInFuture,
    RecordDateTooOld,
    VotingTooLong,
)

NOW = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-6)))
TODAY = date(2026, 12, 31)
HOUR = timedelta(hours=1)

offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
# instants from two years before NOW to two years after it, written in any offset
instants = st.builds(
    lambda minutes, zone: (NOW + timedelta(minutes=minutes)).astimezone(zone),
    st.integers(-2 * 366 * 24 * 60, 2 * 366 * 24 * 60),
    offsets,
)
days = st.integers(-800, 10).map(lambda n: TODAY + timedelta(days=n))


def refusal_of(check: Callable[[], object]) -> InvalidProposal | None:
    """The problem a rule refuses with, or None when it accepts."""
    try:
        check()
    except InvalidProposal as refused:
        return refused
    return None


def window(
    closes_at: datetime, opens_at: datetime | None = None, record_date: date | None = None
) -> rules.VotingWindow:
    return rules.voting_window(
        opens_at=opens_at, closes_at=closes_at, record_date=record_date, now=NOW, today=TODAY
    )


def test_an_opening_without_a_start_or_record_date_opens_now_with_todays_roll() -> None:
    opened = window(NOW + 2 * HOUR)
    assert (opened.opens_at, opened.record_date) == (NOW, TODAY)


@pytest.mark.parametrize(
    ("closes_at", "opens_at", "record_date", "refusal"),
    [
        (NOW, None, None, ClosesBeforeOpening),
        (NOW + HOUR, NOW + 2 * HOUR, None, ClosesBeforeOpening),
        (NOW + HOUR, NOW - timedelta(minutes=6), None, OpensInThePast),
        (NOW + timedelta(days=367), None, None, VotingTooLong),
        (NOW + HOUR, None, TODAY + timedelta(days=1), RecordDateInFuture),
        (NOW + HOUR, None, TODAY - timedelta(days=367), RecordDateTooOld),
    ],
)
def test_each_bad_window_is_refused_by_its_own_problem(
    closes_at: datetime,
    opens_at: datetime | None,
    record_date: date | None,
    refusal: type[InvalidProposal],
) -> None:
    with pytest.raises(refusal):
        window(closes_at, opens_at, record_date)


def test_the_limits_themselves_are_accepted() -> None:
    window(
        NOW + timedelta(days=366),
        opens_at=NOW - timedelta(minutes=5),
        record_date=TODAY - timedelta(days=366),
    )


@given(closes_at=instants, opens_at=st.none() | instants, record_date=st.none() | days)
def test_an_accepted_window_keeps_every_rule_and_a_refused_one_says_which_it_broke(
    closes_at: datetime, opens_at: datetime | None, record_date: date | None
) -> None:
    start = opens_at or NOW
    day = record_date or TODAY
    broken = [
        refusal
        for refusal, holds in (
            (ClosesBeforeOpening, closes_at > max(start, NOW)),
            (OpensInThePast, start >= NOW - timedelta(minutes=5)),
            (VotingTooLong, closes_at <= NOW + timedelta(days=366)),
            (RecordDateInFuture, day <= TODAY),
            (RecordDateTooOld, day >= TODAY - timedelta(days=366)),
        )
        if not holds
    ]
    refused = refusal_of(lambda: window(closes_at, opens_at, record_date))
    if broken:  # the first rule broken, in the order they are read
        assert type(refused) is broken[0]
    else:
        assert refused is None
        assert window(closes_at, opens_at, record_date) == rules.VotingWindow(start, closes_at, day)


@given(closes_at=instants, opens_at=st.none() | instants, zone=offsets)
def test_the_verdict_depends_on_instants_not_on_the_offsets_they_are_written_in(
    closes_at: datetime, opens_at: datetime | None, zone: timezone
) -> None:
    def verdict(closes: datetime, opens: datetime | None) -> str:
        refused = refusal_of(lambda: window(closes, opens))
        return refused.slug if refused else "accepted"

    moved = opens_at.astimezone(zone) if opens_at else None
    assert verdict(closes_at, opens_at) == verdict(closes_at.astimezone(zone), moved)


@given(
    hours=st.integers(1, 24 * 14),
    length=st.integers(1, 24 * 15 * 60),
    roll_days_ago=st.integers(0, 3),
)
def test_an_initiative_takes_its_roll_the_day_it_opens_and_runs_its_minimum_hours(
    hours: int, length: int, roll_days_ago: int
) -> None:
    opened = rules.VotingWindow(
        NOW, NOW + timedelta(minutes=length), TODAY - timedelta(days=roll_days_ago)
    )
    refused = refusal_of(
        lambda: rules.check_initiative_window(opened, today=TODAY, min_hours=hours)
    )
    if roll_days_ago > 0:
        assert isinstance(refused, InitiativeRecordDate)
    elif length < hours * 60:
        assert isinstance(refused, InitiativeTooShort)
        assert (f"{hours} hours" if hours != 1 else "1 hour.") in str(refused)
    else:
        assert refused is None


@given(
    effective_from=st.builds(
        lambda days, zone: (NOW + timedelta(days=days)).astimezone(zone),
        st.floats(-800, 12 * 366, allow_nan=False),
        offsets,
    )
)
def test_an_amendment_takes_effect_within_a_year_back_and_ten_years_ahead(
    effective_from: datetime,
) -> None:
    inside = NOW - timedelta(days=366) <= effective_from <= NOW + timedelta(days=3653)
    refused = refusal_of(lambda: rules.check_effective_from(effective_from, now=NOW))
    assert (refused is None) == inside
    assert refused is None or isinstance(refused, EffectiveDateOutOfRange)


def test_the_ten_years_are_counted_to_the_microsecond() -> None:
    limit = NOW + timedelta(days=3653)
    rules.check_effective_from(limit.astimezone(UTC), now=NOW)
    with pytest.raises(EffectiveDateOutOfRange):
        rules.check_effective_from(limit + timedelta(microseconds=1), now=NOW)


@given(effective_from=instants, closes_at=instants)
def test_an_amendment_never_takes_effect_before_its_vote_closes(
    effective_from: datetime, closes_at: datetime
) -> None:
    refused = refusal_of(lambda: rules.check_takes_effect_after_close(effective_from, closes_at))
    assert (refused is None) == (effective_from >= closes_at)
    assert refused is None or isinstance(refused, EffectiveBeforeClose)
