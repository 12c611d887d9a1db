"""A practitioner's agenda: the schedule the slot rules lay slots out from, the time live
appointments hold, and the bookings time off displaces (open slots across practitioners are
`openings`').

The practitioner's own entries (windows, time off) are read through `telehealth.practitioners`;
the appointments are scheduling's."""

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.kernel.principal import Principal
from telehealth.practitioners import availability
from telehealth.practitioners.rules import Interval
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
