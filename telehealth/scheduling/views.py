"""Appointments as the API shows them, and to whom: their rows become response models here."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.errors import BylawsNotInstalled
from cooperative.kernel import clock
from cooperative.kernel.pagination import Cursor, Page
from cooperative.kernel.principal import Principal
from cooperative.membership import fees
from telehealth.practitioners import service as practitioners
from telehealth.scheduling import ics, rules
from telehealth.scheduling.models import Appointment, AppointmentEvent
from telehealth.scheduling.openings import FoundSlot
from telehealth.scheduling.schemas import (
    AppointmentPublic,
    EventPublic,
    FeePublic,
    PractitionerSummary,
    SlotPublic,
)

_FEE_FIELDS = {"fee_minor", "fee_currency", "fee_class", "fee_explanation", "bylaws_version"}


@dataclass(slots=True)
class Seen:
    """What showing one appointment read, kept for the next ones of the same page."""

    practitioners: dict[uuid.UUID, PractitionerSummary] = field(default_factory=dict)
    households: dict[uuid.UUID, bool] = field(default_factory=dict)
    zones: dict[uuid.UUID, ZoneInfo] = field(default_factory=dict)
    late_cancellation_hours: int | None = None
    bylaws_read: bool = False


async def late_cancellation_hours(session: AsyncSession) -> int | None:
    """The bylaws' late-cancellation window in force now, None before bylaws are installed."""
    try:
        law = await bylaws_service.in_force(session)
    except BylawsNotInstalled:
        return None
    return law.bylaws.scheduling.late_cancellation_hours


async def _free_cancellation_until(
    session: AsyncSession, appointment: Appointment, seen: Seen
) -> datetime | None:
    """Until when the patient may cancel free of charge, in the patient's zone; None once the
    appointment is not live."""
    if appointment.status not in rules.LIVE:
        return None
    if not seen.bylaws_read:
        seen.late_cancellation_hours = await late_cancellation_hours(session)
        seen.bylaws_read = True
    if seen.late_cancellation_hours is None:
        return None
    zone = seen.zones.get(appointment.patient_account_id)
    if zone is None:
        patient = await accounts_service.get(session, appointment.patient_account_id)
        zone = ZoneInfo(patient.timezone) if patient and patient.timezone else clock.zone()
        seen.zones[appointment.patient_account_id] = zone
    until = rules.free_cancellation_until(appointment.start, seen.late_cancellation_hours)
    return until.astimezone(zone)


async def _practitioner(
    session: AsyncSession, practitioner_id: uuid.UUID, seen: Seen
) -> PractitionerSummary:
    summary = seen.practitioners.get(practitioner_id)
    if summary is None:
        practitioner = await practitioners.get(session, practitioner_id)
        summary = PractitionerSummary.model_validate(practitioner, from_attributes=True)
        seen.practitioners[practitioner_id] = summary
    return summary


async def _fee(
    session: AsyncSession, principal: Principal, appointment: Appointment, seen: Seen
) -> FeePublic:
    """The doctor and the clinic see the fee and its class, and only the household (and
    admins) the figures behind it."""
    explanation = appointment.fee_explanation
    if not await fees.sees_income_figures(
        session,
        principal,
        patient_account_id=appointment.patient_account_id,
        explanation=explanation,
        seen=seen.households,
    ):
        explanation = fees.explanation_for_outsiders(explanation)
    return FeePublic(
        amount_minor=appointment.fee_minor,
        currency=appointment.fee_currency,
        fee_class=appointment.fee_class,
        explanation=explanation,
        bylaws_version=appointment.bylaws_version,
    )


async def appointment_public(
    session: AsyncSession,
    principal: Principal,
    appointment: Appointment,
    seen: Seen | None = None,
) -> AppointmentPublic:
    """The appointment as `principal` may see it."""
    seen = Seen() if seen is None else seen
    practitioner = await _practitioner(session, appointment.practitioner_id, seen)
    fields = appointment.model_dump(exclude=_FEE_FIELDS)
    fields["start"], fields["end"] = (
        appointment.start.astimezone(UTC),
        appointment.end.astimezone(UTC),
    )
    return AppointmentPublic(
        **fields,
        practitioner=practitioner,
        practitioner_start=appointment.start.astimezone(ZoneInfo(practitioner.timezone)),
        fee=await _fee(session, principal, appointment, seen),
        free_cancellation_until=await _free_cancellation_until(session, appointment, seen),
    )


async def _events(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentEvent]:
    rows = await session.scalars(
        select(AppointmentEvent)
        .where(col(AppointmentEvent.appointment_id) == appointment_id)
        .order_by(col(AppointmentEvent.at), col(AppointmentEvent.id))
    )
    return list(rows.all())


async def events_public(session: AsyncSession, appointment_id: uuid.UUID) -> list[EventPublic]:
    """What happened to the appointment, oldest first."""
    return [
        EventPublic.model_validate(event, from_attributes=True)
        for event in await _events(session, appointment_id)
    ]


async def calendar_event(
    session: AsyncSession, appointment: Appointment, *, base_url: str, opens_before: timedelta
) -> str:
    """The appointment as an iCalendar event; each reschedule or cancellation is a new
    `SEQUENCE`, so a phone's calendar updates the event it holds. It links to the consult page
    under `base_url` and reminds the patient when the room opens (`opens_before` the start)."""
    practitioner = await practitioners.get(session, appointment.practitioner_id)
    changes = [
        event
        for event in await _events(session, appointment.id)
        if event.type in ("rescheduled", "cancelled")
    ]
    page = f"{base_url.rstrip('/')}/consult/{appointment.id}"
    minutes = int(opens_before.total_seconds() // 60)
    return ics.event(
        uid=f"{appointment.id}@tequio.coop",
        start=appointment.start,
        end=appointment.end,
        summary=f"Consulta Tequio — {practitioner.display_name}",
        description=f"Consulta por video. Entre a la hora de la cita en {page}\n"
        f"Video consult. Join at the time of the appointment at {page}",
        url=page,
        remind_before=opens_before,
        reminder=f"Su consulta de Tequio empieza en {minutes} min: {page}\n"
        f"Your Tequio consult starts in {minutes} min: {page}",
        cancelled=appointment.status in rules.CALLED_OFF,
        stamp=appointment.updated_at,
        sequence=len(changes),
    )


def slot_page(
    found: list[FoundSlot], zone: ZoneInfo, limit: int, late_cancellation_hours: int | None
) -> Page[SlotPublic]:
    """A page of a slot search (`found` holds one more slot when there are more): times in the
    zone asked for, and in the doctor's; with the bylaws' window, until when a consult booked
    in each slot could be cancelled free of charge."""
    shown, more = found[:limit], len(found) > limit
    return Page(
        items=[
            SlotPublic(
                start=slot.start.astimezone(zone),
                end=slot.end.astimezone(zone),
                practitioner_start=slot.start.astimezone(ZoneInfo(slot.practitioner.timezone)),
                practitioner=PractitionerSummary.model_validate(
                    slot.practitioner, from_attributes=True
                ),
                free_cancellation_until=None
                if late_cancellation_hours is None
                else rules.free_cancellation_until(slot.start, late_cancellation_hours).astimezone(
                    zone
                ),
            )
            for slot in shown
        ],
        next_cursor=Cursor(shown[-1].start, str(shown[-1].practitioner.id)).encode()
        if more
        else None,
    )
