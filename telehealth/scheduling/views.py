"""Appointments as the API shows them, and to whom: their rows become response models here."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.errors import BylawsNotInstalled
from cooperative.kernel import moments
from cooperative.kernel.pagination import Cursor, Page, page, paginate
from cooperative.kernel.principal import Principal
from cooperative.membership import fees
from cooperative.membership import service as membership
from telehealth.clinics import service as clinics
from telehealth.practitioners import service as practitioners
from telehealth.scheduling import ics, rules
from telehealth.scheduling.models import Appointment, AppointmentEvent
from telehealth.scheduling.openings import FoundSlot
from telehealth.scheduling.schemas import (
    AppointmentPublic,
    EventPublic,
    FeePublic,
    PatientSummary,
    PractitionerSummary,
    SlotPage,
    SlotPublic,
)

EVENT_TIMES = frozenset({"start", "previous"})  # the instants an event's payload may hold
_FEE_FIELDS = {"fee_minor", "fee_currency", "fee_class", "fee_explanation", "bylaws_version"}


@dataclass(slots=True)
class Seen:
    """What showing one appointment read, kept for the next ones of the same page."""

    practitioners: dict[uuid.UUID, PractitionerSummary] = field(default_factory=dict)
    households: dict[uuid.UUID, bool] = field(default_factory=dict)
    doctors: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    registered: dict[tuple[uuid.UUID, uuid.UUID], bool] = field(default_factory=dict)
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
    """Until when the patient may cancel free of charge (shown in the reader's zone, as every
    instant); None once the appointment is not live."""
    if appointment.status not in rules.LIVE:
        return None
    if not seen.bylaws_read:
        seen.late_cancellation_hours = await late_cancellation_hours(session)
        seen.bylaws_read = True
    if seen.late_cancellation_hours is None:
        return None
    return rules.free_cancellation_until(appointment.start, seen.late_cancellation_hours)


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


async def _sees_patient(
    session: AsyncSession, principal: Principal, appointment: Appointment, seen: Seen
) -> bool:
    """The patient, the doctor, and the staff of the appointment's clinic while the patient
    stays registered with it see whose consult it is; nobody else (not an admin as such)."""
    if principal.account_id == appointment.patient_account_id:
        return True
    practitioner_id = appointment.practitioner_id
    if practitioner_id not in seen.doctors:
        seen.doctors[practitioner_id] = await practitioners.account_of(session, practitioner_id)
    if seen.doctors[practitioner_id] == principal.account_id:
        return True
    clinic_id = appointment.clinic_id
    if clinic_id is None or not await clinics.is_staff(session, clinic_id, principal.account_id):
        return False
    key = (clinic_id, appointment.patient_account_id)
    if key not in seen.registered:
        seen.registered[key] = await clinics.is_registered(session, *key)
    return seen.registered[key]


async def _patient(
    session: AsyncSession, principal: Principal, appointment: Appointment, seen: Seen
) -> PatientSummary | None:
    """Whose consult it is, for those who need to know. Callers have logged the read of the
    appointment in the patient's access log (`service.visible`, `list_visible`, `book`)."""
    if not await _sees_patient(session, principal, appointment, seen):
        return None
    account = await accounts.get(session, appointment.patient_account_id)
    if account is None:
        return None
    dependent = (
        await membership.dependent_name(session, appointment.dependent_id)
        if appointment.dependent_id is not None
        else None
    )
    return PatientSummary(
        account_id=account.id, display_name=account.display_name, dependent_name=dependent
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
        patient=await _patient(session, principal, appointment, seen),
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
    return [event_public(event) for event in await _events(session, appointment_id)]


def event_public(event: AppointmentEvent) -> EventPublic:
    """An event, its payload's instants in the reader's zone."""
    return EventPublic(
        type=event.type,
        at=event.at,
        actor_account_id=event.actor_account_id,
        payload=moments.payload_shown(event.payload, EVENT_TIMES),
    )


async def events_page(
    session: AsyncSession, appointment_id: uuid.UUID, *, cursor: str | None, limit: int | None
) -> Page[EventPublic]:
    """What happened to the appointment, oldest first, a page at a time."""
    rows = await paginate(
        session,
        select(AppointmentEvent).where(col(AppointmentEvent.appointment_id) == appointment_id),
        time_column=col(AppointmentEvent.at),
        id_column=col(AppointmentEvent.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, event_public)


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
) -> SlotPage:
    """A page of a slot search (`found` holds one more slot when there are more): times in the
    zone asked for, and in the doctor's; each doctor once, beside the slots that name them;
    with the bylaws' window, until when a consult booked in each slot could be cancelled free
    of charge."""
    shown, more = found[:limit], len(found) > limit
    doctors: dict[uuid.UUID, PractitionerSummary] = {}
    for slot in shown:
        if slot.practitioner.id not in doctors:
            doctors[slot.practitioner.id] = PractitionerSummary.model_validate(
                slot.practitioner, from_attributes=True
            )
    return SlotPage(
        items=[
            SlotPublic(
                start=slot.start.astimezone(zone),
                end=slot.end.astimezone(zone),
                practitioner_start=slot.start.astimezone(ZoneInfo(slot.practitioner.timezone)),
                practitioner_id=slot.practitioner.id,
                free_cancellation_until=None
                if late_cancellation_hours is None
                else rules.free_cancellation_until(slot.start, late_cancellation_hours).astimezone(
                    zone
                ),
            )
            for slot in shown
        ],
        practitioners=doctors,
        next_cursor=Cursor(shown[-1].start, str(shown[-1].practitioner.id)).encode()
        if more
        else None,
    )
