"""A practitioner's agenda: the schedule the slot rules lay slots out from, the time live
appointments hold, open slots across practitioners, and the bookings time off displaces.

The practitioner's own entries (windows, time off) are read through `telehealth.practitioners`;
the appointments are scheduling's."""

import heapq
import itertools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.kernel.principal import Principal
from telehealth.practitioners import availability
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.rules import Interval, LicenceFact
from telehealth.practitioners.schemas import TimeOffIn, TimeOffPublic
from telehealth.practitioners.service import Practitioner
from telehealth.scheduling import rules as slots
from telehealth.scheduling.models import Appointment, AppointmentEvent
from telehealth.scheduling.rules import HOLDING

log = logging.getLogger("tequio.availability")


async def schedules(
    session: AsyncSession, candidates: Sequence[Practitioner]
) -> dict[uuid.UUID, slots.Schedule | None]:
    """Each practitioner's rules as the pure slot generator takes them, in three queries
    whatever their number; None for a practitioner whose own settings are not valid (say, a
    time zone the zone database no longer has), which is logged."""
    entries = await availability.of_practitioners(session, [p.id for p in candidates])
    plans: dict[uuid.UUID, slots.Schedule | None] = {}
    for practitioner in candidates:
        try:
            plans[practitioner.id] = slots.Schedule(
                timezone=practitioner.timezone,
                windows=entries[practitioner.id].weekly,
                slot_minutes=practitioner.slot_minutes,
                buffer_minutes=practitioner.buffer_minutes,
                min_notice_minutes=practitioner.min_notice_minutes,
                horizon_days=practitioner.horizon_days,
                extra=entries[practitioner.id].extra,
                time_off=entries[practitioner.id].time_off,
            )
        except (ValueError, TypeError) as exc:
            log.error("schedule ignored: practitioner %s is not valid (%s)", practitioner.id, exc)
            plans[practitioner.id] = None
    return plans


async def schedule(session: AsyncSession, practitioner: Practitioner) -> slots.Schedule | None:
    """One practitioner's rules for the slot generator (None: no valid schedule, no slots)."""
    return (await schedules(session, [practitioner]))[practitioner.id]


def _holding(
    practitioner_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ...]:
    """The live appointments (they hold the practitioner's time) of these practitioners that
    overlap the half-open span from `start` to `end`."""
    return (
        col(Appointment.practitioner_id).in_(practitioner_ids),
        col(Appointment.status).in_(HOLDING),
        col(Appointment.start) < end,
        col(Appointment.end) > start,
    )


async def busy_of(
    session: AsyncSession,
    practitioner_ids: Sequence[uuid.UUID],
    *,
    start: datetime,
    end: datetime,
    excluding: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[Interval]]:
    """The spans each practitioner's live appointments hold between `start` and `end`, in one
    query; `excluding` an appointment being moved."""
    statement = select(
        col(Appointment.practitioner_id), col(Appointment.start), col(Appointment.end)
    ).where(*_holding(practitioner_ids, start, end))
    if excluding is not None:
        statement = statement.where(col(Appointment.id) != excluding)
    taken: dict[uuid.UUID, list[Interval]] = {i: [] for i in practitioner_ids}
    for practitioner_id, taken_start, taken_end in await session.execute(statement):
        taken[practitioner_id].append(Interval(taken_start, taken_end))
    return taken


async def busy(
    session: AsyncSession,
    practitioner_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    excluding: uuid.UUID | None = None,
) -> list[Interval]:
    """The spans one practitioner's live appointments hold between `start` and `end`."""
    found = await busy_of(session, [practitioner_id], start=start, end=end, excluding=excluding)
    return found[practitioner_id]


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """A slot search: the dates are the caller's, in `zone`; `jurisdiction` is where the patient
    will be (only doctors licensed there on the day count); `after` is the (start, practitioner
    id) of the last slot of the page before."""

    first_day: date
    last_day: date
    zone: ZoneInfo
    specialty: str | None = None
    language: str | None = None
    jurisdiction: str | None = None
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class FoundSlot:
    start: datetime
    end: datetime
    practitioner: Practitioner


async def search(
    session: AsyncSession, query: SlotQuery, *, now: datetime, limit: int
) -> list[FoundSlot]:
    """Open slots across practitioners, soonest first (ties by practitioner), after the query's
    cursor: `limit` of them, and one more when there are more.

    Everything is read in a fixed number of queries, whatever the number of practitioners."""
    candidates = await practitioners.searchable(
        session, specialty=query.specialty, language=query.language
    )
    ids = [p.id for p in candidates]
    plans = await schedules(session, candidates)
    licences = await practitioners.licences_of(session, ids)
    span_start = datetime.combine(query.first_day, datetime.min.time(), UTC) - timedelta(days=2)
    span_end = datetime.combine(query.last_day, datetime.min.time(), UTC) + timedelta(days=3)
    taken = await busy_of(session, ids, start=span_start, end=span_end)
    needed = practitioner_rules.licence_needed(query.jurisdiction) if query.jurisdiction else None
    per_practitioner: list[list[FoundSlot]] = []
    for practitioner in candidates:
        facts, plan = licences[practitioner.id], plans[practitioner.id]
        if needed and not any(fact.jurisdiction == needed for fact in facts):
            continue  # never licensed there: no need to lay out a single slot
        if plan is None:
            continue  # its settings are broken (logged): it offers nothing, the others do
        found = _open_slots(query, practitioner, plan, facts, taken[practitioner.id], now, limit)
        per_practitioner.append(found)
    merged = heapq.merge(*per_practitioner, key=lambda f: (f.start, str(f.practitioner.id)))
    return list(itertools.islice(merged, limit + 1))


def _open_slots(
    query: SlotQuery,
    practitioner: Practitioner,
    plan: slots.Schedule,
    licences: list[LicenceFact],
    taken: list[Interval],
    now: datetime,
    limit: int,
) -> list[FoundSlot]:
    """One practitioner's slots that answer the query, sorted: `limit` and one more at most."""
    key = str(practitioner.id)
    found: list[FoundSlot] = []
    # the dates are the caller's (in `zone`): ask the doctor's calendar for a day more on each
    # side, then keep the slots whose start falls on the asked dates in `zone`
    for slot in slots.generate_slots(
        plan,
        first_day=query.first_day - timedelta(days=1),
        last_day=query.last_day + timedelta(days=1),
        now=now,
        busy=taken,
    ):
        if not query.first_day <= slot.start.astimezone(query.zone).date() <= query.last_day:
            continue
        if query.after is not None and (slot.start, key) <= query.after:
            continue
        if query.jurisdiction and not practitioner_rules.licensed_for(
            licences, query.jurisdiction, practitioner_rules.date_in(query.jurisdiction, slot.start)
        ):
            continue
        found.append(FoundSlot(slot.start, slot.end, practitioner))
        if len(found) > limit:  # each doctor's slots come sorted: more cannot make the page
            break
    return found


async def add_time_off(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: TimeOffIn
) -> TimeOffPublic:
    """Time off never deletes bookings inside it: they are marked as needing a reschedule, and an
    event tells the patient. It ends after now and within a year, and may start up to a day ago."""
    time_off = await availability.add_time_off(session, principal, practitioner_id, data)
    now = clock.now()
    inside = await session.execute(
        select(Appointment).where(*_holding([time_off.practitioner_id], data.start, data.end))
    )
    ids = []
    for appointment in inside.scalars():
        appointment.needs_reschedule = True
        appointment.updated_at = now
        session.add(
            AppointmentEvent(
                appointment_id=appointment.id,
                type="needs-reschedule",
                actor_account_id=principal.account_id,
                payload={"reason": "practitioner time off", "time_off_id": str(time_off.id)},
            )
        )
        ids.append(appointment.id)
    await session.flush()
    return TimeOffPublic(
        id=time_off.id,
        start=time_off.start,
        end=time_off.end,
        reason=time_off.reason,
        appointments_to_reschedule=ids,
    )
