"""Pure rules of scheduling: the statuses an appointment goes through (at the end of this
module), and slots from a practitioner's availability rules, correct across DST changes.

A practitioner states availability in local wall time (weekly windows, and dated windows that add
availability on one date) and takes time off as absolute spans. Slots are laid out in four steps:

1. Resolve. On each local date, each window's start and end become absolute instants in the
   schedule's time zone, read as zoneinfo reads a wall time with ``fold=0``:
   - an ambiguous time (the hour repeated when clocks fall back) is its FIRST occurrence: 01:30 on
     2026-11-01 in Los Angeles is 01:30 PDT (-07:00), not the later 01:30 PST;
   - a non-existent time (the hour skipped when clocks spring forward) is moved forward by the
     gap: 02:30 on 2026-03-08 in Los Angeles is 03:30 PDT.
   A window whose resolved end is not after its resolved start offers nothing that day; this only
   happens when its start falls in a spring-forward gap and its end shortly after (02:30-03:00).
2. Merge. A day's resolved spans (weekly and dated windows together) that overlap or touch become
   one run, so no slot is offered twice and 09:00-10:00 plus 10:00-11:00 is simply 09:00-11:00.
3. Lay out. In each run, slots are laid out in ABSOLUTE time from the run's start, one every
   ``slot_minutes + buffer_minutes``, while a slot still ends within the run. Every slot lasts
   exactly ``slot_minutes``, also on a night the clocks change, so no slot appears twice or
   vanishes: a window 01:00-04:00 holds two hours of slots on the spring-forward night and a
   window 00:00-03:00 four hours on the fall-back night.
4. Filter. A laid-out slot is offered unless it starts before ``now + min_notice_minutes`` or at
   or after ``now + horizon_days``, overlaps time off, or overlaps a busy interval widened by
   ``buffer_minutes`` on each side (so a consult keeps its gap from every busy time).

Intervals are half-open: a slot that ends when time off begins does not overlap it. Slots are in
UTC; `to_local` shows them in anyone's zone. The windows and intervals themselves are the
practitioner's entries (`telehealth.practitioners.rules`).
"""

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telehealth.practitioners.rules import DatedWindow, Interval, WeeklyWindow, as_utc
from telehealth.scheduling.errors import InvalidAppointmentTransition

SlotProblem = Literal["not-a-slot", "too-soon", "beyond-horizon", "unavailable"]

_Span = tuple[datetime, datetime]
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A practitioner's availability rules; `timezone` is the IANA zone of the windows."""

    timezone: str
    windows: tuple[WeeklyWindow, ...]
    slot_minutes: int
    buffer_minutes: int = 0
    min_notice_minutes: int = 0
    horizon_days: int = 60
    extra: tuple[DatedWindow, ...] = ()
    time_off: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if self.slot_minutes <= 0:
            raise ValueError("slot_minutes must be positive")
        if min(self.buffer_minutes, self.min_notice_minutes, self.horizon_days) < 0:
            raise ValueError("buffer_minutes, min_notice_minutes and horizon_days must be >= 0")


@dataclass(frozen=True, slots=True)
class Slot:
    """An offered consult: UTC instants exactly `slot_minutes` apart."""

    start: datetime
    end: datetime


def generate_slots(
    schedule: Schedule,
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    busy: Sequence[Interval] = (),
) -> list[Slot]:
    """The open slots whose start falls on a local date (in the schedule's zone) from `first_day`
    to `last_day` inclusive, sorted by start and never overlapping; see the module docstring."""
    now = as_utc(now)
    zone = _zone(schedule.timezone)
    earliest = now + timedelta(minutes=schedule.min_notice_minutes)
    latest = now + timedelta(days=schedule.horizon_days)
    # Only the days that can hold an offered slot are laid out, whatever range was asked for.
    low = max(first_day, earliest.astimezone(zone).date() - timedelta(days=1))
    high = min(last_day, latest.astimezone(zone).date() + timedelta(days=1))
    if low > high:
        return []
    length = timedelta(minutes=schedule.slot_minutes)
    blocked = _blocked(schedule, busy)
    return [
        Slot(start, start + length)
        for start in _laid_out(schedule, _runs(schedule, low, high))
        if first_day <= start.astimezone(zone).date() <= last_day
        and _problem(schedule, start, now, blocked) is None
    ]


def check_start(
    schedule: Schedule, start: datetime, *, now: datetime, busy: Sequence[Interval] = ()
) -> SlotProblem | None:
    """None if a slot starting at the instant `start` (in any zone) is offered; otherwise why not.

    The checks run in order: "not-a-slot" (no window lays out a slot at that instant), "too-soon",
    "beyond-horizon", "unavailable" (time off, or a busy interval widened by the buffer). It agrees
    with `generate_slots`: every slot that offers passes here.
    """
    start = as_utc(start)
    day = to_local(start, schedule.timezone).date()
    if not _is_laid_out(schedule, start, _runs(schedule, day, day)):
        return "not-a-slot"
    return _problem(schedule, start, as_utc(now), _blocked(schedule, busy))


def to_local(moment: datetime, timezone: str) -> datetime:
    """The same instant as an aware datetime in `timezone`, with that zone's offset on that day."""
    return as_utc(moment).astimezone(_zone(timezone))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone: {name!r}") from exc


def _resolve(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).replace(fold=0).astimezone(UTC)


def _spans_on(schedule: Schedule, zone: ZoneInfo, day: date) -> Iterator[_Span]:
    walls = [(w.start, w.end) for w in schedule.windows if w.weekday == day.weekday()]
    walls += [(x.start, x.end) for x in schedule.extra if x.day == day]
    for start, end in walls:
        span = (_resolve(day, start, zone), _resolve(day, end, zone))
        if span[0] < span[1]:
            yield span


def _merged(spans: Iterable[_Span]) -> list[_Span]:
    """Sorted, disjoint spans covering the same instants; overlapping or touching spans join."""
    runs: list[_Span] = []
    for start, end in sorted(spans):
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def _runs(schedule: Schedule, first_day: date, last_day: date) -> list[_Span]:
    """The merged windows of the local dates from `first_day` to `last_day`, plus a day either
    side, so that a zone whose clocks change around midnight cannot lose a slot at the edge."""
    zone = _zone(schedule.timezone)
    count = (last_day - first_day).days + 3
    days = (first_day + timedelta(days=offset - 1) for offset in range(count))
    return _merged(span for day in days for span in _spans_on(schedule, zone, day))


def _laid_out(schedule: Schedule, runs: list[_Span]) -> Iterator[datetime]:
    length = timedelta(minutes=schedule.slot_minutes)
    step = length + timedelta(minutes=schedule.buffer_minutes)
    for run_start, run_end in runs:
        start = run_start
        while start + length <= run_end:
            yield start
            start += step


def _is_laid_out(schedule: Schedule, start: datetime, runs: list[_Span]) -> bool:
    length = timedelta(minutes=schedule.slot_minutes)
    step = length + timedelta(minutes=schedule.buffer_minutes)
    return any(
        run_start <= start and start + length <= run_end and (start - run_start) % step == _ZERO
        for run_start, run_end in runs
    )


def _blocked(schedule: Schedule, busy: Sequence[Interval]) -> list[_Span]:
    """Time off and the busy intervals widened by the buffer, merged into disjoint spans."""
    pad = timedelta(minutes=schedule.buffer_minutes)
    spans = [(as_utc(off.start), as_utc(off.end)) for off in schedule.time_off]
    spans += [(as_utc(taken.start) - pad, as_utc(taken.end) + pad) for taken in busy]
    return _merged(spans)


def _overlaps(start: datetime, end: datetime, blocked: list[_Span]) -> bool:
    first_ending_after = bisect_right(blocked, start, key=lambda span: span[1])
    return first_ending_after < len(blocked) and blocked[first_ending_after][0] < end


def _problem(
    schedule: Schedule, start: datetime, now: datetime, blocked: list[_Span]
) -> SlotProblem | None:
    """Why the laid-out slot starting at `start` is not offered, or None if it is."""
    if start < now + timedelta(minutes=schedule.min_notice_minutes):
        return "too-soon"
    if start >= now + timedelta(days=schedule.horizon_days):
        return "beyond-horizon"
    if _overlaps(start, start + timedelta(minutes=schedule.slot_minutes), blocked):
        return "unavailable"
    return None


class AppointmentStatus(StrEnum):
    """Where an appointment stands: FHIR's Appointment.status, the part Tequio uses."""

    BOOKED = "booked"
    ARRIVED = "arrived"  # the patient is in the waiting room
    FULFILLED = "fulfilled"  # the consult took place
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    ENTERED_IN_ERROR = "entered-in-error"  # it should never have been booked


class RecordedStatus(StrEnum):
    """What the doctor records happened (and an admin, that it was entered in error)."""

    ARRIVED = AppointmentStatus.ARRIVED
    FULFILLED = AppointmentStatus.FULFILLED
    NOSHOW = AppointmentStatus.NOSHOW
    ENTERED_IN_ERROR = AppointmentStatus.ENTERED_IN_ERROR


# Statuses that hold the practitioner's time: no other booking may overlap them.
HOLDING = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.FULFILLED)
# A consult still to happen: its room opens, and it may be cancelled.
LIVE = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)
# Called off: a calendar's event for it is cancelled.
CALLED_OFF = (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR)

# A patient may be marked arrived this long before the start (the waiting room opens early).
ARRIVAL_WINDOW = timedelta(hours=1)

Change = AppointmentStatus | Literal["rescheduled", "refunded"]

# a change -> the statuses it may follow
_FOLLOWS: dict[str, tuple[AppointmentStatus, ...]] = {
    AppointmentStatus.CANCELLED: LIVE,
    "rescheduled": (AppointmentStatus.BOOKED,),
    "refunded": (AppointmentStatus.FULFILLED,),
    AppointmentStatus.ARRIVED: (AppointmentStatus.BOOKED,),
    AppointmentStatus.FULFILLED: LIVE,
    AppointmentStatus.NOSHOW: LIVE,
    AppointmentStatus.ENTERED_IN_ERROR: tuple(
        status for status in AppointmentStatus if status != AppointmentStatus.ENTERED_IN_ERROR
    ),
}


def check_change(status: str, change: Change) -> None:
    """Refuse (`InvalidAppointmentTransition`) a change an appointment in `status` may not
    take: only a live one is cancelled, marked fulfilled or no-show, only a booked one is
    rescheduled or marked arrived, only a fulfilled one refunded; anything but an appointment
    already entered in error may be marked so."""
    if status not in _FOLLOWS[change]:
        raise InvalidAppointmentTransition(status=status, target=change)


def recordable_from(status: RecordedStatus, start: datetime) -> datetime | None:
    """From when `status` may be recorded for an appointment starting at `start`: arrived an
    `ARRIVAL_WINDOW` before it, fulfilled and no-show from the start, entered in error any
    time (None)."""
    if status == RecordedStatus.ENTERED_IN_ERROR:
        return None
    return start - (ARRIVAL_WINDOW if status == RecordedStatus.ARRIVED else _ZERO)


def begun(status: str, start: datetime, now: datetime) -> bool:
    """Whether a consult has begun: the patient is in the waiting room, or its start passed."""
    return status == AppointmentStatus.ARRIVED or start <= now


def free_cancellation_until(start: datetime, late_cancellation_hours: int) -> datetime:
    """The last moment a consult starting at `start` may be cancelled without it being late:
    the bylaws' `late_cancellation_hours` before the start (a cancellation at that very moment
    is still free)."""
    return start - timedelta(hours=late_cancellation_hours)
