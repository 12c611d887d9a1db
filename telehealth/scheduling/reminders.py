"""A consult's reminders to its patient, kept in step with the appointment: written to the
outbox when it is booked (at each of the reminder times before the start that is still ahead),
moved when it is rescheduled, cancelled when it is cancelled or ends otherwise. All in the
transaction of the change itself.

What a reminder says is `consult.reminder` (`cooperative.notifications.templates`): the time in
the patient's zone and, when it differs, the doctor's, and the link to the consult page; no
specialty, reason or anything else about the patient's health. The reminder times are the
setting `TEQUIO_CONSULT_REMINDER_HOURS` (24 and 1 hours by default): the bylaws say nothing of
reminders yet."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock, moments
from cooperative.notifications import service as outbox
from cooperative.notifications.templates import CONSULT_REMINDER
from telehealth.scheduling.models import Appointment

TEMPLATE = CONSULT_REMINDER.key


def _about(appointment: Appointment) -> str:
    return f"appointment:{appointment.id}"


def _hours(offset: timedelta) -> float:
    return offset.total_seconds() / 3600


def _key(appointment: Appointment, offset: timedelta) -> str:
    start = moments.stored(appointment.start)
    return f"consult.reminder:{appointment.id}:{start}:{_hours(offset):g}h"


async def _parameters(
    session: AsyncSession, appointment: Appointment, doctor_zone: str, offset: timedelta
) -> dict[str, object]:
    account = await accounts_service.get(session, appointment.patient_account_id)
    zone = (account.timezone if account else None) or clock.zone().key
    return {
        "appointment_id": str(appointment.id),
        "start": moments.stored(appointment.start),
        "zone": zone,
        "doctor_zone": doctor_zone,
        "hours_before": _hours(offset),
    }


def _wanted(start: datetime, offsets: Sequence[timedelta], now: datetime) -> list[timedelta]:
    return [offset for offset in offsets if start - offset > now]


async def plan(
    session: AsyncSession,
    appointment: Appointment,
    *,
    doctor_zone: str,
    offsets: Sequence[timedelta],
    new: bool = False,
) -> None:
    """Bring the appointment's waiting reminders in line with its start: those still wanted
    move to their new moment, the others are cancelled, the missing ones are queued (for a
    `new` appointment, just queued: it has none yet)."""
    wanted = _wanted(appointment.start, offsets, clock.now())
    waiting = [] if new else await outbox.waiting_about(session, _about(appointment), TEMPLATE)
    for message in waiting:
        offset = timedelta(hours=float(message.parameters.get("hours_before", 0)))
        key = _key(appointment, offset)
        if offset not in wanted or await outbox.by_key(session, key) not in (None, message):
            outbox.cancel(message, reason="the consult was moved")
            continue
        outbox.move(
            message,
            not_before=appointment.start - offset,
            expires_at=appointment.start,
            parameters=await _parameters(session, appointment, doctor_zone, offset),
            idempotency_key=key,
        )
    if waiting:
        await session.flush()  # the moved keys, before the missing reminders are looked for
    for offset in wanted:
        await outbox.enqueue(
            session,
            recipient=appointment.patient_account_id,
            template=TEMPLATE,
            parameters=await _parameters(session, appointment, doctor_zone, offset),
            idempotency_key=_key(appointment, offset),
            not_before=appointment.start - offset,
            expires_at=appointment.start,
            about=_about(appointment),
            fresh=new,
        )


async def cancel(session: AsyncSession, appointment: Appointment, *, reason: str) -> None:
    """The consult will not take place as booked: its waiting reminders are cancelled."""
    await outbox.cancel_about(session, _about(appointment), reason=reason)
