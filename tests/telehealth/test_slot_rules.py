"""Slot rules: what a patient sees on the nights the clocks change, in Mexico City (no DST since
2022) and from Tijuana (US DST), and each rule of a schedule, checked against times worked out by
hand from the 2026 transitions (US: 2026-03-08 and 2026-11-01 at 02:00), then by properties."""

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telehealth.practitioners.rules import DatedWindow, Interval, WeeklyWindow
from telehealth.scheduling.rules import (
    Schedule,
    Slot,
    check_start,
    generate_slots,
    to_local,
)

LOS_ANGELES = "America/Los_Angeles"
TIJUANA = "America/Tijuana"
MEXICO_CITY = "America/Mexico_City"
PACIFIC = [LOS_ANGELES, TIJUANA]

SPRING_FORWARD = date(2026, 3, 8)  # a Sunday: 02:00 PST becomes 03:00 PDT
FALL_BACK = date(2026, 11, 1)  # a Sunday: 02:00 PDT becomes 01:00 PST
SUNDAY = 6
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
A_YEAR = 365


def every_day(start: time, end: time) -> tuple[WeeklyWindow, ...]:
    return tuple(WeeklyWindow(weekday, start, end) for weekday in range(7))


def shown(slots: list[Slot], zone: str) -> list[str]:
    """The slot starts as a person in `zone` sees them: local date, wall time and UTC offset."""
    return [to_local(slot.start, zone).isoformat(timespec="minutes") for slot in slots]


def slots_on(schedule: Schedule, first: date, last: date | None = None) -> list[Slot]:
    return generate_slots(schedule, first_day=first, last_day=last or first, now=LONG_AGO)


def assert_no_duplicates_or_overlaps(slots: list[Slot]) -> None:
    assert len({slot.start for slot in slots}) == len(slots)
    assert all(a.end <= b.start for a, b in pairwise(slots))


# --- The nights the clocks change, in Los Angeles and Tijuana --------------------------------


@pytest.mark.parametrize("zone", PACIFIC)
@pytest.mark.parametrize(
    ("day", "start", "end", "minutes", "expected"),
    [
        pytest.param(
            SPRING_FORWARD, time(1), time(4), 30,
            ["01:00-08:00", "01:30-08:00", "03:00-07:00", "03:30-07:00"],
            id="spring-forward: 01:00-04:00 is two real hours, 02:xx never shown",
        ),
        pytest.param(
            SPRING_FORWARD, time(2, 30), time(4), 30,
            ["03:30-07:00"],
            id="spring-forward: a start at the non-existent 02:30 moves to 03:30 PDT",
        ),
        pytest.param(
            SPRING_FORWARD, time(1), time(2, 30), 30,
            ["01:00-08:00", "01:30-08:00", "03:00-07:00"],
            id="spring-forward: an end at the non-existent 02:30 moves to 03:30 PDT",
        ),
        pytest.param(
            SPRING_FORWARD, time(2, 30), time(3), 30,
            [],
            id="spring-forward: 02:30-03:00 resolves to 03:30-03:00 PDT, so nothing",
        ),
        pytest.param(
            FALL_BACK, time(0), time(3), 60,
            ["00:00-07:00", "01:00-07:00", "01:00-08:00", "02:00-08:00"],
            id="fall-back: 00:00-03:00 is four real hours, 01:00 shown twice",
        ),
        pytest.param(
            FALL_BACK, time(1, 30), time(3), 30,
            ["01:30-07:00", "01:00-08:00", "01:30-08:00", "02:00-08:00", "02:30-08:00"],
            id="fall-back: an ambiguous 01:30 start is its first occurrence (PDT)",
        ),
    ],
)  # fmt: skip
def test_the_nights_the_clocks_change(
    zone: str, day: date, start: time, end: time, minutes: int, expected: list[str]
) -> None:
    schedule = Schedule(zone, (WeeklyWindow(SUNDAY, start, end),), minutes, horizon_days=A_YEAR)

    slots = slots_on(schedule, day)

    assert shown(slots, zone) == [f"{day.isoformat()}T{wall}" for wall in expected]
    assert all(slot.end - slot.start == timedelta(minutes=minutes) for slot in slots)
    assert_no_duplicates_or_overlaps(slots)


@pytest.mark.parametrize("zone", PACIFIC)
def test_spring_forward_window_holds_two_absolute_hours_in_utc(zone: str) -> None:
    schedule = Schedule(zone, (WeeklyWindow(SUNDAY, time(1), time(4)),), 30, horizon_days=A_YEAR)

    starts = [slot.start for slot in slots_on(schedule, SPRING_FORWARD)]

    # 01:00 PST is 09:00 UTC; 04:00 PDT is 11:00 UTC.
    assert starts == [datetime(2026, 3, 8, 9, m, tzinfo=UTC) for m in (0, 30)] + [
        datetime(2026, 3, 8, 10, m, tzinfo=UTC) for m in (0, 30)
    ]


@pytest.mark.parametrize("zone", PACIFIC)
def test_fall_back_window_holds_four_absolute_hours_in_utc(zone: str) -> None:
    schedule = Schedule(zone, (WeeklyWindow(SUNDAY, time(0), time(3)),), 60, horizon_days=A_YEAR)

    starts = [slot.start for slot in slots_on(schedule, FALL_BACK)]

    # 00:00 PDT is 07:00 UTC; 03:00 PST is 11:00 UTC.
    assert starts == [datetime(2026, 11, 1, hour, tzinfo=UTC) for hour in (7, 8, 9, 10)]


MORNING = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]


@pytest.mark.parametrize("zone", PACIFIC)
@pytest.mark.parametrize(
    ("days", "offsets"),
    [
        ([date(2026, 3, 7), SPRING_FORWARD, date(2026, 3, 9)], ["-08:00", "-07:00", "-07:00"]),
        ([date(2026, 10, 31), FALL_BACK, date(2026, 11, 2)], ["-07:00", "-08:00", "-08:00"]),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_morning_window_keeps_its_wall_times_across_a_transition(
    zone: str, days: list[date], offsets: list[str]
) -> None:
    schedule = Schedule(zone, every_day(time(9), time(13)), 30, horizon_days=A_YEAR)

    slots = slots_on(schedule, days[0], days[-1])

    assert shown(slots, zone) == [
        f"{day.isoformat()}T{wall}{offset}"
        for day, offset in zip(days, offsets, strict=True)
        for wall in MORNING
    ]


@pytest.mark.parametrize("zone", PACIFIC)
@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        # 00:00-04:00 holds 4 hourly slots on an ordinary night, 3 on the spring-forward night
        # and 5 on the fall-back night; 09:00-13:00 always holds 4.
        (date(2026, 3, 7), date(2026, 3, 9), 8 + 7 + 8),
        (date(2026, 10, 31), date(2026, 11, 2), 8 + 9 + 8),
        # 252 days from March 2 to November 8: the hour lost in March and won back in November.
        (date(2026, 3, 2), date(2026, 11, 8), 252 * 8 - 1 + 1),
    ],
)
def test_no_slot_appears_twice_or_vanishes_over_several_days(
    zone: str, first: date, last: date, count: int
) -> None:
    windows = every_day(time(0), time(4)) + every_day(time(9), time(13))
    schedule = Schedule(zone, windows, 60, horizon_days=A_YEAR)

    slots = slots_on(schedule, first, last)

    assert len(slots) == count
    assert_no_duplicates_or_overlaps(slots)


# --- Mexico City, with no DST since 2022, and a patient in Tijuana -----------------------------


MEXICO_CITY_MORNING = ["09:00", "10:00", "11:00"]


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 14),
        SPRING_FORWARD,  # the US and Tijuana change; Mexico City does not
        date(2026, 4, 5),  # first Sunday of April: Mexico City's old DST start
        date(2026, 4, 15),
        date(2026, 10, 25),  # last Sunday of October: Mexico City's old DST end
        date(2026, 11, 4),
    ],
)
def test_mexico_city_slots_stay_at_utc_minus_six_all_year(day: date) -> None:
    schedule = Schedule(MEXICO_CITY, every_day(time(9), time(12)), 60, horizon_days=A_YEAR)

    slots = slots_on(schedule, day)

    assert shown(slots, MEXICO_CITY) == [
        f"{day.isoformat()}T{wall}-06:00" for wall in MEXICO_CITY_MORNING
    ]
    assert [slot.start.hour for slot in slots] == [15, 16, 17]


WEDNESDAY = 2


@pytest.mark.parametrize(
    ("day", "seen_in_tijuana"),
    [
        # Winter: Tijuana is UTC-8, two hours behind Mexico City's UTC-6.
        (date(2026, 1, 14), ["07:00-08:00", "08:00-08:00", "09:00-08:00"]),
        # From the US spring-forward on, Tijuana is UTC-7: one hour behind.
        (date(2026, 3, 11), ["08:00-07:00", "09:00-07:00", "10:00-07:00"]),
        (date(2026, 4, 15), ["08:00-07:00", "09:00-07:00", "10:00-07:00"]),
        # After the US fall-back, two hours behind again.
        (date(2026, 11, 4), ["07:00-08:00", "08:00-08:00", "09:00-08:00"]),
    ],
)
def test_a_mexico_city_doctor_seen_from_tijuana(day: date, seen_in_tijuana: list[str]) -> None:
    schedule = Schedule(
        MEXICO_CITY, (WeeklyWindow(WEDNESDAY, time(9), time(12)),), 60, horizon_days=A_YEAR
    )

    slots = slots_on(schedule, day)

    assert shown(slots, MEXICO_CITY) == [
        f"{day.isoformat()}T{wall}-06:00" for wall in MEXICO_CITY_MORNING
    ]
    assert shown(slots, TIJUANA) == [f"{day.isoformat()}T{wall}" for wall in seen_in_tijuana]


def test_a_patient_in_tijuana_books_in_tijuana_time() -> None:
    schedule = Schedule(
        MEXICO_CITY, (WeeklyWindow(WEDNESDAY, time(9), time(12)),), 60, horizon_days=A_YEAR
    )
    tijuana = ZoneInfo(TIJUANA)

    def check(hour: int) -> str | None:
        return check_start(schedule, datetime(2026, 1, 14, hour, tzinfo=tijuana), now=LONG_AGO)

    assert check(7) is None  # 09:00 in Mexico City
    assert check(9) is None  # 11:00 in Mexico City
    assert check(6) == "not-a-slot"  # 08:00 in Mexico City, before the window
    assert check(10) == "not-a-slot"  # 12:00 in Mexico City, when the window ends


# --- Each rule of a schedule, in Mexico City (UTC-6 all year) ----------------------------------

CDMX = ZoneInfo(MEXICO_CITY)
MONDAY = date(2026, 6, 1)
WEEKDAYS = tuple(WeeklyWindow(weekday, time(9), time(13)) for weekday in range(5))
BEFORE_JUNE = datetime(2026, 5, 25, tzinfo=UTC)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CDMX)


def walls(slots: list[Slot]) -> list[str]:
    return [to_local(slot.start, MEXICO_CITY).strftime("%a %H:%M") for slot in slots]


def weekdays(**rules: Any) -> Schedule:
    return dataclasses.replace(Schedule(MEXICO_CITY, WEEKDAYS, 30), **rules)


def test_buffer_leaves_a_gap_between_consults() -> None:
    schedule = weekdays(buffer_minutes=15)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=BEFORE_JUNE)

    # 09:00-09:30, 15 minutes' rest, 09:45-10:15, … and 12:45 would end after 13:00.
    assert walls(slots) == ["Mon 09:00", "Mon 09:45", "Mon 10:30", "Mon 11:15", "Mon 12:00"]


def test_minimum_notice_hides_slots_starting_too_soon() -> None:
    schedule = weekdays(min_notice_minutes=60)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=at(MONDAY, 8, 50))

    assert walls(slots)[0] == "Mon 10:00"  # 09:30 starts 40 minutes from now
    assert len(slots) == 6


def test_a_slot_starting_exactly_at_the_notice_is_offered() -> None:
    schedule = weekdays(min_notice_minutes=60)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=at(MONDAY, 9))

    assert walls(slots)[0] == "Mon 10:00"


def test_horizon_hides_slots_starting_at_or_after_it() -> None:
    schedule = weekdays(horizon_days=2)
    friday = MONDAY + timedelta(days=4)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=friday, now=at(MONDAY, 10))

    # Monday from 10:00 (6), all of Tuesday (8), Wednesday until before 10:00 (2).
    assert len(slots) == 6 + 8 + 2
    assert walls(slots)[-2:] == ["Wed 09:00", "Wed 09:30"]


def test_a_range_far_beyond_the_horizon_is_cut_to_it() -> None:
    schedule = weekdays(horizon_days=7)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=date(2036, 1, 1), now=at(MONDAY, 0))

    assert len(slots) == 5 * 8


def test_time_off_removes_every_slot_it_overlaps() -> None:
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    day_off = Interval(at(tuesday, 0), at(wednesday, 0))
    errand = Interval(at(wednesday, 10, 15), at(wednesday, 11))
    schedule = weekdays(time_off=(day_off, errand))

    slots = generate_slots(schedule, first_day=MONDAY, last_day=wednesday, now=BEFORE_JUNE)

    assert not any(wall.startswith("Tue") for wall in walls(slots))
    # 10:00-10:30 and 10:30-11:00 overlap the errand; 09:30-10:00 and 11:00-11:30 only touch it.
    assert [w for w in walls(slots) if w.startswith("Wed")] == [
        "Wed 09:00", "Wed 09:30", "Wed 11:00", "Wed 11:30", "Wed 12:00", "Wed 12:30",
    ]  # fmt: skip


def test_busy_times_widened_by_the_buffer_remove_slots() -> None:
    schedule = weekdays(buffer_minutes=10)
    booked = Interval(at(MONDAY, 10, 20), at(MONDAY, 10, 50))
    call = Interval(at(MONDAY, 11, 5), at(MONDAY, 11, 20))
    late_meeting = Interval(at(MONDAY, 12, 55), at(MONDAY, 13, 30))

    free = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=BEFORE_JUNE)
    open_ = generate_slots(
        schedule,
        first_day=MONDAY,
        last_day=MONDAY,
        now=BEFORE_JUNE,
        busy=[booked, call, late_meeting],
    )

    assert walls(free) == [
        "Mon 09:00", "Mon 09:40", "Mon 10:20", "Mon 11:00", "Mon 11:40", "Mon 12:20",
    ]  # fmt: skip
    # The booked 10:20 goes; its neighbours end/start exactly 10 minutes away and stay. The call
    # at 11:05 is within 10 minutes of the 11:00 slot, the meeting at 12:55 of the 12:20 slot.
    assert walls(open_) == ["Mon 09:00", "Mon 09:40", "Mon 11:40"]


def test_a_dated_window_adds_availability_on_that_date_only() -> None:
    saturday, next_saturday = date(2026, 6, 6), date(2026, 6, 13)
    schedule = weekdays(extra=(DatedWindow(saturday, time(10), time(12)),))

    slots = generate_slots(schedule, first_day=saturday, last_day=next_saturday, now=BEFORE_JUNE)

    days = [to_local(slot.start, MEXICO_CITY).date() for slot in slots]
    assert [day for day in days if day.weekday() == 5] == [saturday] * 4
    assert walls(slots)[:4] == ["Sat 10:00", "Sat 10:30", "Sat 11:00", "Sat 11:30"]
    assert len(slots) == 4 + 5 * 8


def test_a_dated_window_overlapping_the_weekly_one_extends_it_without_duplicates() -> None:
    schedule = weekdays(extra=(DatedWindow(MONDAY, time(12), time(15)),))

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=BEFORE_JUNE)

    assert len(slots) == 12  # 09:00-15:00
    assert walls(slots)[-1] == "Mon 14:30"
    assert_no_duplicates_or_overlaps(slots)


def test_overlapping_windows_are_merged_before_laying_out() -> None:
    windows = (WeeklyWindow(0, time(9), time(11)), WeeklyWindow(0, time(10), time(12)))
    schedule = Schedule(MEXICO_CITY, windows, 45)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=BEFORE_JUNE)

    # One run 09:00-12:00, not 09:00 and 10:00 grids laid over each other.
    assert walls(slots) == ["Mon 09:00", "Mon 09:45", "Mon 10:30", "Mon 11:15"]


def test_touching_windows_are_one_run() -> None:
    windows = (WeeklyWindow(0, time(9), time(10)), WeeklyWindow(0, time(10), time(11)))
    schedule = Schedule(MEXICO_CITY, windows, 40)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=BEFORE_JUNE)

    assert walls(slots) == ["Mon 09:00", "Mon 09:40", "Mon 10:20"]


def test_separate_windows_on_one_day_each_get_slots() -> None:
    windows = (WeeklyWindow(0, time(9), time(10)), WeeklyWindow(0, time(16), time(17)))
    schedule = Schedule(MEXICO_CITY, windows, 30)

    slots = generate_slots(schedule, first_day=MONDAY, last_day=MONDAY, now=BEFORE_JUNE)

    assert walls(slots) == ["Mon 09:00", "Mon 09:30", "Mon 16:00", "Mon 16:30"]


# --- check_start: why a requested start is refused ---------------------------------------------


def test_check_start_accepts_an_offered_slot_given_in_any_zone() -> None:
    schedule = weekdays()
    same_instant_in_tijuana = at(MONDAY, 10, 30).astimezone(ZoneInfo(TIJUANA))
    same_instant_in_utc = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)

    assert same_instant_in_tijuana.hour == 9  # Tijuana is UTC-7 in June
    assert check_start(schedule, same_instant_in_tijuana, now=BEFORE_JUNE) is None
    assert check_start(schedule, same_instant_in_utc, now=BEFORE_JUNE) is None
    assert check_start(schedule, at(MONDAY, 10, 30), now=BEFORE_JUNE) is None


@pytest.mark.parametrize(
    "start",
    [
        at(MONDAY, 9, 15),  # between two slots
        at(MONDAY, 12, 45),  # would end after the window
        at(MONDAY, 14),  # after the window
        at(MONDAY + timedelta(days=6), 9),  # Sunday
        at(MONDAY, 9, 0).replace(second=1),
    ],
)
def test_check_start_refuses_what_the_rules_never_lay_out(start: datetime) -> None:
    assert check_start(weekdays(), start, now=BEFORE_JUNE) == "not-a-slot"


def test_check_start_refuses_too_soon_and_beyond_the_horizon() -> None:
    schedule = weekdays(min_notice_minutes=60, horizon_days=7)
    now = at(MONDAY, 9)

    assert check_start(schedule, at(MONDAY, 9, 30), now=now) == "too-soon"
    assert check_start(schedule, at(MONDAY, 10), now=now) is None
    assert check_start(schedule, at(MONDAY - timedelta(days=7), 9), now=now) == "too-soon"
    assert check_start(schedule, at(MONDAY + timedelta(days=7), 9), now=now) == "beyond-horizon"
    assert check_start(schedule, at(MONDAY + timedelta(days=7), 8, 30), now=now) == "not-a-slot"
    assert check_start(schedule, at(MONDAY + timedelta(days=6), 12, 30), now=now) == "not-a-slot"
    assert check_start(schedule, at(MONDAY + timedelta(days=4), 12, 30), now=now) is None


def test_check_start_refuses_a_slot_in_time_off_or_too_close_to_a_busy_time() -> None:
    schedule = weekdays(buffer_minutes=10, time_off=(Interval(at(MONDAY, 12), at(MONDAY, 13)),))
    booked = [Interval(at(MONDAY, 10, 20), at(MONDAY, 10, 50))]

    assert check_start(schedule, at(MONDAY, 12, 20), now=BEFORE_JUNE) == "unavailable"
    assert check_start(schedule, at(MONDAY, 10, 20), now=BEFORE_JUNE, busy=booked) == "unavailable"
    assert check_start(schedule, at(MONDAY, 11), now=BEFORE_JUNE, busy=booked) is None
    assert check_start(schedule, at(MONDAY, 9, 40), now=BEFORE_JUNE, busy=booked) is None
    booked_with_no_rest = [Interval(at(MONDAY, 10, 15), at(MONDAY, 10, 45))]
    assert (
        check_start(schedule, at(MONDAY, 9, 40), now=BEFORE_JUNE, busy=booked_with_no_rest)
        == "unavailable"
    )


def test_check_start_reports_problems_in_order() -> None:
    schedule = weekdays(min_notice_minutes=60, horizon_days=7)
    time_off = (Interval(at(MONDAY, 0), at(MONDAY + timedelta(days=30), 0)),)
    blocked = dataclasses.replace(schedule, time_off=time_off)
    now = at(MONDAY, 9)

    # Off the grid and too soon: not a slot first.
    assert check_start(blocked, at(MONDAY, 9, 10), now=now) == "not-a-slot"
    # Too soon and in time off: too soon first.
    assert check_start(blocked, at(MONDAY, 9, 30), now=now) == "too-soon"
    # Beyond the horizon and in time off: beyond the horizon first.
    assert check_start(blocked, at(MONDAY + timedelta(days=8), 9), now=now) == "beyond-horizon"
    assert check_start(blocked, at(MONDAY, 11), now=now) == "unavailable"


@pytest.mark.parametrize("zone", PACIFIC)
def test_check_start_tells_the_two_one_oclocks_of_the_fall_back_night_apart(zone: str) -> None:
    schedule = Schedule(
        zone, (WeeklyWindow(SUNDAY, time(1, 30), time(3)),), 30, horizon_days=A_YEAR
    )
    tz = ZoneInfo(zone)

    def check(hour: int, minute: int, fold: int) -> str | None:
        moment = datetime(2026, 11, 1, hour, minute, fold=fold, tzinfo=tz)
        return check_start(schedule, moment, now=LONG_AGO)

    assert check(1, 30, fold=0) is None  # 01:30 PDT, the window's start
    assert check(1, 0, fold=1) is None  # 01:00 PST, an hour later than 01:00 PDT
    assert check(1, 0, fold=0) == "not-a-slot"  # 01:00 PDT, before the window
    assert check(1, 30, fold=1) is None  # 01:30 PST


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        check_start(weekdays(), datetime(2026, 6, 1, 9), now=BEFORE_JUNE)
    with pytest.raises(ValueError, match="time zone"):
        generate_slots(weekdays(), first_day=MONDAY, last_day=MONDAY, now=datetime(2026, 6, 1))
    with pytest.raises(ValueError, match="time zone"):
        to_local(datetime(2026, 6, 1), TIJUANA)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Schedule("Mexico/Nowhere", WEEKDAYS, 30),
        lambda: Schedule(MEXICO_CITY, WEEKDAYS, 0),
        lambda: Schedule(MEXICO_CITY, WEEKDAYS, 30, buffer_minutes=-5),
        lambda: WeeklyWindow(7, time(9), time(10)),
        lambda: WeeklyWindow(0, time(10), time(9)),
        lambda: DatedWindow(MONDAY, time(10), time(10)),
        lambda: Interval(at(MONDAY, 10), at(MONDAY, 9)),
    ],
)
def test_impossible_rules_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each rule has its own message
        build()


# --- Properties --------------------------------------------------------------------------------

ZONES = [
    LOS_ANGELES,
    TIJUANA,
    MEXICO_CITY,
    "UTC",
    "Europe/London",
    "America/Havana",  # changes at midnight
    "America/Santiago",  # changes at midnight, falling back into the previous day
    "Australia/Lord_Howe",  # a 30-minute change
    "Asia/Kolkata",
]
TRANSITIONS = [
    SPRING_FORWARD,
    FALL_BACK,
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 5),
    date(2026, 9, 6),
    date(2026, 10, 4),
]
MINUTES_IN_A_DAY = 24 * 60


@st.composite
def wall_spans(draw: st.DrawFn) -> tuple[time, time]:
    start = draw(st.integers(0, MINUTES_IN_A_DAY - 2))
    end = draw(st.integers(start + 1, MINUTES_IN_A_DAY - 1))
    return time(start // 60, start % 60), time(end // 60, end % 60)


@st.composite
def intervals_near(draw: st.DrawFn, day: date) -> Interval:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(-2 * MINUTES_IN_A_DAY, 9 * MINUTES_IN_A_DAY))
    )
    return Interval(start, start + timedelta(minutes=draw(st.integers(1, 600))))


@dataclasses.dataclass(frozen=True)
class Case:
    schedule: Schedule
    first_day: date
    last_day: date
    now: datetime
    busy: tuple[Interval, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    first_day = draw(
        st.one_of(
            st.sampled_from(TRANSITIONS).map(lambda day: day - timedelta(days=1)),
            st.dates(date(2026, 1, 1), date(2026, 12, 20)),
        )
    )
    last_day = first_day + timedelta(days=draw(st.integers(0, 6)))
    weekly = [
        WeeklyWindow(draw(st.integers(0, 6)), *span)
        for span in draw(st.lists(wall_spans(), max_size=6))
    ]
    extra = [
        DatedWindow(first_day + timedelta(days=draw(st.integers(-1, 7))), *span)
        for span in draw(st.lists(wall_spans(), max_size=3))
    ]
    schedule = Schedule(
        timezone=draw(st.sampled_from(ZONES)),
        windows=tuple(weekly),
        slot_minutes=draw(st.integers(10, 180)),
        buffer_minutes=draw(st.integers(0, 45)),
        min_notice_minutes=draw(st.integers(0, 3 * MINUTES_IN_A_DAY)),
        horizon_days=draw(st.integers(0, 30)),
        extra=tuple(extra),
        time_off=tuple(draw(st.lists(intervals_near(first_day), max_size=3))),
    )
    now = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(-3 * MINUTES_IN_A_DAY, 5 * MINUTES_IN_A_DAY))
    )
    busy = tuple(draw(st.lists(intervals_near(first_day), max_size=4)))
    return Case(schedule, first_day, last_day, now, busy)


def resolved_windows(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The documented rule, straight from zoneinfo: each wall time read with fold=0."""
    zone = ZoneInfo(schedule.timezone)
    spans = []
    for around in (day - timedelta(days=1), day, day + timedelta(days=1)):
        walls_ = [(w.start, w.end) for w in schedule.windows if w.weekday == around.weekday()]
        walls_ += [(x.start, x.end) for x in schedule.extra if x.day == around]
        for start, end in walls_:
            a = datetime.combine(around, start, tzinfo=zone).astimezone(UTC)
            b = datetime.combine(around, end, tzinfo=zone).astimezone(UTC)
            if a < b:
                spans.append((a, b))
    return spans


def covered(start: datetime, end: datetime, spans: list[tuple[datetime, datetime]]) -> bool:
    reach = start
    for a, b in sorted(spans):
        if a > reach:
            return False
        reach = max(reach, b)
        if reach >= end:
            return True
    return False


def overlaps(slot: Slot, start: datetime, end: datetime) -> bool:
    return slot.start < end and start < slot.end


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_slots_are_sorted_disjoint_exact_and_inside_the_rules(case: Case) -> None:
    schedule = case.schedule
    length = timedelta(minutes=schedule.slot_minutes)
    pad = timedelta(minutes=schedule.buffer_minutes)

    slots = generate_slots(
        schedule, first_day=case.first_day, last_day=case.last_day, now=case.now, busy=case.busy
    )

    assert all(a.end <= b.start for a, b in pairwise(slots))
    for slot in slots:
        local_day = to_local(slot.start, schedule.timezone).date()
        assert slot.start.utcoffset() == timedelta(0) and slot.end - slot.start == length
        assert case.first_day <= local_day <= case.last_day
        assert covered(slot.start, slot.end, resolved_windows(schedule, local_day))
        assert case.now + timedelta(minutes=schedule.min_notice_minutes) <= slot.start
        assert slot.start < case.now + timedelta(days=schedule.horizon_days)
        assert not any(overlaps(slot, off.start, off.end) for off in schedule.time_off)
        assert not any(overlaps(slot, b.start - pad, b.end + pad) for b in case.busy)
        assert check_start(schedule, slot.start, now=case.now, busy=case.busy) is None
        in_kiritimati = slot.start.astimezone(ZoneInfo("Pacific/Kiritimati"))
        assert check_start(schedule, in_kiritimati, now=case.now, busy=case.busy) is None


@settings(max_examples=200, deadline=None)
@given(case=cases())
def test_every_slot_the_rules_lay_out_is_offered_or_refused_with_a_reason(case: Case) -> None:
    unrestricted = dataclasses.replace(
        case.schedule, min_notice_minutes=0, horizon_days=A_YEAR, time_off=()
    )
    laid_out = generate_slots(
        unrestricted, first_day=case.first_day, last_day=case.last_day, now=LONG_AGO
    )
    offered = generate_slots(
        case.schedule,
        first_day=case.first_day,
        last_day=case.last_day,
        now=case.now,
        busy=case.busy,
    )

    assert set(offered) <= set(laid_out)
    for slot in laid_out:
        problem = check_start(case.schedule, slot.start, now=case.now, busy=case.busy)
        assert (problem is None) == (slot in offered)
        assert problem != "not-a-slot"


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.one_of(st.sampled_from(TRANSITIONS), st.dates(date(2026, 1, 1), date(2026, 12, 31))),
    span=wall_spans(),
    minutes=st.integers(5, 120),
)
def test_a_window_holds_as_many_slots_as_its_absolute_length_allows(
    zone: str, day: date, span: tuple[time, time], minutes: int
) -> None:
    schedule = Schedule(
        zone, (WeeklyWindow(day.weekday(), *span),), minutes, horizon_days=2 * A_YEAR
    )
    tz = ZoneInfo(zone)
    start = datetime.combine(day, span[0], tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, span[1], tzinfo=tz).astimezone(UTC)

    slots = slots_on(schedule, day)

    expected = max(end - start, timedelta(0)) // timedelta(minutes=minutes)
    assert len(slots) == expected
    assert [slot.start for slot in slots] == [
        start + i * timedelta(minutes=minutes) for i in range(expected)
    ]
