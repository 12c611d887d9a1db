"""A practitioner's availability: weekly windows, dated extra windows and time off. Stored after
checks, listed and removed by the doctor (or an admin), and read back for the slot rules.

Reading back trusts nothing: a row that is not valid (written before today's checks, or by
hand) offers no slots, and an error naming the row's id is logged; it never fails a slot search,
a booking or a profile for anyone. Each value is decoded here rather than by the column type, so
that even text SQLite accepted in a time column spoils only its own row."""

import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    bindparam,
    delete,
    func,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal
from telehealth.practitioners import rules
from telehealth.practitioners.errors import (
    DuplicateWindow,
    ExtraWindowOutOfRange,
    ScheduleFull,
    TimeOffOutOfRange,
)
from telehealth.practitioners.models import AvailabilityWindow, ExtraWindow, Practitioner, TimeOff
from telehealth.practitioners.rules import DatedWindow, Interval, WeeklyWindow
from telehealth.practitioners.schemas import (
    AvailabilityIn,
    ExtraWindowIn,
    ExtraWindowPublic,
    TimeOffEntryPublic,
    TimeOffIn,
)

log = logging.getLogger("tequio.availability")


# ---- reading back -----------------------------------------------------------------------------


def _raw(column: Any) -> ColumnElement[Any]:
    """The column's value as the database driver returns it, not decoded by its type."""
    return type_coerce(column, NullType()).label(column.key)


def _parsed(value: object, parse: Callable[[str], object]) -> object:
    """Text as the column's type, with an error that does not repeat the text (it goes to the
    log, and whoever wrote it may have written anything)."""
    if not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ValueError:
        raise ValueError("text the column's type cannot read") from None


def _as_time(value: object) -> time:
    parsed = _parsed(value, time.fromisoformat)
    if not isinstance(parsed, time):
        raise ValueError("not a time of day")
    if parsed.tzinfo is not None:
        raise ValueError("a time of day with a UTC offset")
    return parsed


def _as_date(value: object) -> date:
    parsed = _parsed(value, date.fromisoformat)
    if not isinstance(parsed, date) or isinstance(parsed, datetime):
        raise ValueError("not a date")
    return parsed


def _as_instant(value: object) -> datetime:
    parsed = _parsed(value, datetime.fromisoformat)
    if not isinstance(parsed, datetime):
        raise ValueError("not a date and time")
    # stored in UTC; SQLite gives it back without the offset
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _as_weekday(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a weekday number")
    return value


def _shown_id(value: object) -> str:
    """The row's id as the API shows ids (SQLite returns it as 32 hex digits)."""
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        return repr(value)


_Rule = TypeVar("_Rule", WeeklyWindow, DatedWindow, Interval)


@dataclass(frozen=True, slots=True)
class _Table:
    model: Any
    columns: tuple[str, ...]  # besides id and practitioner_id


_WEEKLY = _Table(AvailabilityWindow, ("weekday", "start", "end"))
_EXTRA = _Table(ExtraWindow, ("day", "start", "end"))
_TIME_OFF = _Table(TimeOff, ("start", "end"))


async def _rules(
    session: AsyncSession,
    table: _Table,
    ids: Sequence[uuid.UUID],
    build: Callable[..., _Rule],
) -> dict[uuid.UUID, list[_Rule]]:
    """Each practitioner's rows of `table` as slot rules, in one query; a row that does not
    make a valid rule is left out and logged by id (its values may be anyone's typo)."""
    model = table.model
    found: dict[uuid.UUID, list[_Rule]] = {i: [] for i in ids}
    for row in await session.execute(_rows_of(table), {"ids": list(ids)}):
        values = row._mapping
        try:
            rule = build(*(values[c] for c in table.columns))
        except (ValueError, TypeError, OverflowError) as exc:
            log.error(
                "availability row ignored: %s %s is not valid (%s)",
                model.__tablename__,
                _shown_id(values["id"]),
                exc,
            )
            continue
        found[values["practitioner_id"]].append(rule)
    return found


@functools.cache
def _rows_of(table: _Table) -> Select[Any]:
    """The practitioners' rows of `table`, raw (built once: building costs more than running)."""
    model = table.model
    return select(
        _raw(model.id),
        col(model.practitioner_id),
        *(_raw(getattr(model, c)) for c in table.columns),
    ).where(col(model.practitioner_id).in_(bindparam("ids", expanding=True)))


def _weekly(weekday: object, start: object, end: object) -> WeeklyWindow:
    return WeeklyWindow(_as_weekday(weekday), _as_time(start), _as_time(end))


def _dated(day: object, start: object, end: object) -> DatedWindow:
    return DatedWindow(_as_date(day), _as_time(start), _as_time(end))


def _off(start: object, end: object) -> Interval:
    return Interval(_as_instant(start), _as_instant(end))


@dataclass(frozen=True, slots=True)
class Availability:
    """A practitioner's valid entries, as the slot rules take them."""

    weekly: tuple[WeeklyWindow, ...]
    extra: tuple[DatedWindow, ...]
    time_off: tuple[Interval, ...]


async def of_practitioners(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Availability]:
    """Each practitioner's weekly windows, extra windows and time off, in three queries whatever
    their number (a row that is not valid is left out and logged)."""
    weekly = await _rules(session, _WEEKLY, ids, _weekly)
    extra = await _rules(session, _EXTRA, ids, _dated)
    time_off = await _rules(session, _TIME_OFF, ids, _off)
    return {i: Availability(tuple(weekly[i]), tuple(extra[i]), tuple(time_off[i])) for i in ids}


def offers_slots(row: ExtraWindow | TimeOff) -> bool:
    """Whether a stored extra window or time off is one the slot rules take (a row stored
    before today's checks may not be: it is shown so that it can be deleted)."""
    try:
        if isinstance(row, ExtraWindow):
            _dated(row.day, row.start, row.end)
        else:
            _off(row.start, row.end)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def extra_window_public(window: ExtraWindow) -> ExtraWindowPublic:
    return ExtraWindowPublic.model_validate({**window.model_dump(), "valid": offers_slots(window)})


def time_off_entry_public(entry: TimeOff) -> TimeOffEntryPublic:
    return TimeOffEntryPublic.model_validate({**entry.model_dump(), "valid": offers_slots(entry)})


async def weekly_windows(session: AsyncSession, practitioner_id: uuid.UUID) -> list[WeeklyWindow]:
    """The valid weekly windows, by weekday and start: what patients see on the profile."""
    return (await weekly_windows_of(session, [practitioner_id]))[practitioner_id]


async def weekly_windows_of(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WeeklyWindow]]:
    """`weekly_windows` of several practitioners, in one query."""
    found = await _rules(session, _WEEKLY, ids, _weekly)
    return {
        i: sorted(windows, key=lambda w: (w.weekday, w.start, w.end))
        for i, windows in found.items()
    }


# ---- the doctor's changes ---------------------------------------------------------------------


async def managed(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID
) -> Practitioner:
    """The practitioner, if the caller is that doctor or an admin, locked for the rest of the
    transaction: changes to a schedule queue with the bookings against it. Anyone may see the
    profile, so anyone else is refused (403)."""
    practitioner = await _active(session, practitioner_id, lock=True)
    if practitioner.account_id != principal.account_id and not principal.is_admin:
        raise Forbidden(
            reason=Text(
                "only the doctor or an admin manages this schedule",
                "solo el médico o un administrador gestionan este horario",
            )
        )
    return practitioner


async def _own(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, *, lock: bool
) -> Practitioner:
    """As `managed`, for the schedule's entries, which only the doctor and admins see: 404 for
    anyone else (time off may say why a doctor is away)."""
    practitioner = await _active(session, practitioner_id, lock=lock)
    if practitioner.account_id != principal.account_id and not principal.is_admin:
        raise NotFound()
    return practitioner


async def _active(session: AsyncSession, practitioner_id: uuid.UUID, *, lock: bool) -> Practitioner:
    practitioner = await session.get(Practitioner, practitioner_id, with_for_update=lock)
    if practitioner is None or not practitioner.active:
        raise NotFound()
    return practitioner


async def set_availability(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: AvailabilityIn
) -> Practitioner:
    """Replace the weekly windows and slot settings. Existing bookings are kept."""
    practitioner = await managed(session, principal, practitioner_id)
    await session.execute(
        delete(AvailabilityWindow).where(col(AvailabilityWindow.practitioner_id) == practitioner.id)
    )
    for window in data.windows:
        rule = WeeklyWindow(window.weekday, window.start, window.end)
        session.add(
            AvailabilityWindow(
                practitioner_id=practitioner.id,
                weekday=rule.weekday,
                start=rule.start,
                end=rule.end,
            )
        )
    for field in ("slot_minutes", "buffer_minutes", "min_notice_minutes", "horizon_days"):
        setattr(practitioner, field, getattr(data, field))
    await session.flush()
    return practitioner


async def add_extra(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: ExtraWindowIn
) -> ExtraWindow:
    """A dated window from today to a year ahead on the practitioner's calendar, once."""
    practitioner = await managed(session, principal, practitioner_id)
    today = clock.now().astimezone(ZoneInfo(practitioner.timezone)).date()
    first, last = rules.extra_window_dates(today)
    if not first <= data.day <= last:
        raise ExtraWindowOutOfRange(first=first, last=last)
    rule = DatedWindow(data.day, data.start, data.end)
    same = await session.execute(
        select(col(ExtraWindow.id)).where(
            col(ExtraWindow.practitioner_id) == practitioner.id,
            col(ExtraWindow.day) == rule.day,
            col(ExtraWindow.start) == rule.start,
            col(ExtraWindow.end) == rule.end,
        )
    )
    if same.first() is not None:
        raise DuplicateWindow()
    await _room_for_one_more(
        session, col(ExtraWindow.practitioner_id) == practitioner.id, col(ExtraWindow.day) >= first
    )
    window = ExtraWindow(
        practitioner_id=practitioner.id, day=rule.day, start=rule.start, end=rule.end
    )
    session.add(window)
    await session.flush()
    return window


async def add_time_off(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: TimeOffIn
) -> TimeOff:
    """Time off that ends after now and within a year, and may start up to a day ago (what it
    does to the bookings inside it is scheduling's: `telehealth.scheduling.agenda`)."""
    practitioner = await managed(session, principal, practitioner_id)
    now = clock.now()
    if not rules.time_off_fits(data.start, data.end, now):
        earliest, latest = rules.time_off_bounds(now)
        raise TimeOffOutOfRange(
            earliest=earliest,
            latest=latest,
        )
    await _room_for_one_more(
        session, col(TimeOff.practitioner_id) == practitioner.id, col(TimeOff.end) > now
    )
    time_off = TimeOff(practitioner_id=practitioner.id, **data.model_dump())
    session.add(time_off)
    await session.flush()
    return time_off


async def _room_for_one_more(session: AsyncSession, *upcoming: ColumnElement[bool]) -> None:
    """A schedule keeps a bounded number of upcoming entries of each kind."""
    count = (await session.execute(select(func.count()).where(*upcoming))).scalar_one()
    if count >= rules.MAX_UPCOMING_ENTRIES:
        raise ScheduleFull(limit=rules.MAX_UPCOMING_ENTRIES)


async def extra_windows(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[ExtraWindowPublic]:
    """The practitioner's extra windows in the order they were added."""
    practitioner = await _own(session, principal, practitioner_id, lock=False)
    rows = await paginate(
        session,
        select(ExtraWindow).where(col(ExtraWindow.practitioner_id) == practitioner.id),
        time_column=col(ExtraWindow.created_at),
        id_column=col(ExtraWindow.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, extra_window_public)


async def time_off(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[TimeOffEntryPublic]:
    """The practitioner's time off by start."""
    practitioner = await _own(session, principal, practitioner_id, lock=False)
    rows = await paginate(
        session,
        select(TimeOff).where(col(TimeOff.practitioner_id) == practitioner.id),
        time_column=col(TimeOff.start),
        id_column=col(TimeOff.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, time_off_entry_public)


async def delete_extra(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, window_id: uuid.UUID
) -> None:
    """Remove an extra window; consults already booked in it are kept."""
    practitioner = await _own(session, principal, practitioner_id, lock=True)
    await _delete(session, ExtraWindow, practitioner, window_id)


async def delete_time_off(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    """Remove time off: its hours offer slots again."""
    practitioner = await _own(session, principal, practitioner_id, lock=True)
    await _delete(session, TimeOff, practitioner, time_off_id)


async def _delete(
    session: AsyncSession,
    model: type[ExtraWindow] | type[TimeOff],
    practitioner: Practitioner,
    row_id: uuid.UUID,
) -> None:
    """Deleted by a statement, not loaded first: a row whose values cannot even be read back
    can still be removed by its id."""
    gone: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(model).where(col(model.id) == row_id, col(model.practitioner_id) == practitioner.id)
    )
    if gone.rowcount == 0:
        raise NotFound()
