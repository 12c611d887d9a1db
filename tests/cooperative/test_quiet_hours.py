"""Quiet hours as a rule: a message due in them waits for their end in the member's zone, the
change of daylight saving time included; one that would expire first goes just before they
began, or at its own time when that moment has passed."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cooperative.notifications.rules import QuietHours, outside_quiet_hours

TIJUANA = ZoneInfo("America/Tijuana")
NIGHT = QuietHours(time(21), time(8), TIJUANA)


def _tj(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TIJUANA)


@pytest.mark.parametrize(
    ("due", "ends"),
    [
        (_tj(2026, 12, 3, 23, 30), _tj(2026, 12, 4, 8)),  # the evening part: tomorrow 08:00
        (_tj(2026, 12, 4, 6, 0), _tj(2026, 12, 4, 8)),  # the morning part
        (_tj(2026, 3, 8, 7, 0), _tj(2026, 3, 8, 8)),  # clocks sprang forward at 02:00
        (_tj(2026, 11, 1, 7, 0), _tj(2026, 11, 1, 8)),  # clocks fell back at 02:00
    ],
)
def test_a_message_due_in_quiet_hours_waits_for_their_local_end(
    due: datetime, ends: datetime
) -> None:
    now = due - timedelta(days=2)
    moved = outside_quiet_hours(due, NIGHT, expires_at=None, now=now)
    assert moved == ends
    assert moved.astimezone(TIJUANA).time() == time(8)


def test_outside_quiet_hours_or_without_them_it_goes_when_due() -> None:
    due = _tj(2026, 12, 4, 12, 0)
    assert outside_quiet_hours(due, NIGHT, expires_at=None, now=due) == due
    assert outside_quiet_hours(_tj(2026, 12, 4, 6), None, expires_at=None, now=due) == _tj(
        2026, 12, 4, 6
    )
    day = QuietHours(time(13), time(15), TIJUANA)  # a window that does not wrap midnight
    assert outside_quiet_hours(_tj(2026, 12, 4, 14), day, expires_at=None, now=due) == _tj(
        2026, 12, 4, 15
    )


def test_a_reminder_that_cannot_wait_goes_before_the_quiet_hours_or_at_its_time() -> None:
    """The hour-before reminder of a 07:30 consult is due at 06:30; quiet hours end at 08:00."""
    consult = _tj(2026, 12, 4, 7, 30)
    due = consult - timedelta(hours=1)
    booked_days_before = _tj(2026, 12, 1, 10)
    assert outside_quiet_hours(due, NIGHT, expires_at=consult, now=booked_days_before) == _tj(
        2026, 12, 3, 20, 59
    )
    booked_at_night = _tj(2026, 12, 3, 23)  # the evening before has passed: it keeps its time
    assert outside_quiet_hours(due, NIGHT, expires_at=consult, now=booked_at_night) == due
    assert due.astimezone(UTC) == datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
