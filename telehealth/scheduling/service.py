"""Booking, rescheduling, cancelling and tracking appointments.

No double booking, whatever the concurrency: a booking first locks its practitioner's row
(PostgreSQL `SELECT … FOR UPDATE`; SQLite transactions are `BEGIN IMMEDIATE`), so bookings for
one practitioner run one after another and each sees the ones before; a partial unique index on
(practitioner, start) over live appointments backs this up in the database itself.
"""

import hashlib
import json
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.bylaws.service import InForce
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, IdempotencyKeyReused, NotFound
from cooperative.kernel.pagination import paginate
from cooperative.kernel.principal import Principal, Role
from cooperative.membership import fees
from cooperative.membership import service as membership_service
from cooperative.surplus import patronage
from telehealth.clinics import service as clinics_service
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.service import Practitioner
from telehealth.scheduling import agenda
from telehealth.scheduling import rules as slots
from telehealth.scheduling.errors import (
    BeyondHorizon,
    InvalidAppointmentTransition,
    NotASlot,
    NotLicensed,
    SlotTaken,
    SlotUnavailable,
    TooEarly,
    TooSoon,
)
from telehealth.scheduling.models import Appointment as Appointment  # other domains name it
from telehealth.scheduling.models import AppointmentEvent
from telehealth.scheduling.schemas import AppointmentCreate


def _event(
    session: AsyncSession,
    appointment: Appointment,
    kind: str,
    actor: uuid.UUID | None,
    **payload: object,
) -> None:
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            type=kind,
            actor_account_id=actor,
            payload={
                key: str(value) if value is not None else None for key, value in payload.items()
            },
        )
    )


async def _check_time(
    session: AsyncSession,
    practitioner: Practitioner,
    start: datetime,
    *,
    now: datetime,
    excluding: uuid.UUID | None = None,
) -> datetime:
    """The consult's end if `start` is an open slot now; the precise refusal otherwise."""
    schedule = await agenda.schedule(session, practitioner)
    if schedule is None:  # the doctor's settings are broken (logged): nothing to book
        raise NotASlot(start=start.isoformat())
    problem = slots.check_start(schedule, start, now=now)
    if problem == "not-a-slot":
        raise NotASlot(start=start.isoformat())
    if problem == "too-soon":
        raise TooSoon(minutes=practitioner.min_notice_minutes)
    if problem == "beyond-horizon":
        raise BeyondHorizon(days=practitioner.horizon_days)
    if problem == "unavailable":
        raise SlotUnavailable()
    end = start + timedelta(minutes=practitioner.slot_minutes)
    taken = await agenda.busy(
        session,
        practitioner.id,
        start=start - timedelta(days=1),
        end=end + timedelta(days=1),
        excluding=excluding,
    )
    if slots.check_start(schedule, start, now=now, busy=taken) is not None:
        raise SlotTaken()
    return end


async def _check_licence(
    session: AsyncSession, practitioner: Practitioner, start: datetime, jurisdiction: str
) -> None:
    day = practitioner_rules.date_in(jurisdiction, start)
    facts = (await practitioners.licences_of(session, [practitioner.id]))[practitioner.id]
    if not practitioner_rules.licensed_for(facts, jurisdiction, day):
        raise NotLicensed(jurisdiction=jurisdiction, day=day.isoformat())


async def _patient_of(
    session: AsyncSession, principal: Principal, data: AppointmentCreate
) -> uuid.UUID:
    """Whom the consult is for, if the caller may book for them (404 for anyone else's, and for
    an account that does not exist or is closed)."""
    patient = data.patient_account_id or principal.account_id
    if patient != principal.account_id:
        account = await accounts_service.get(session, patient)
        if account is None or not account.is_active:
            raise NotFound()
    if data.clinic_id is not None:
        is_staff = await clinics_service.is_staff(session, data.clinic_id, principal.account_id)
        if not (is_staff or principal.is_admin):
            raise NotFound()
        if not await clinics_service.is_registered(session, data.clinic_id, patient):
            raise NotFound()
    elif patient != principal.account_id and not principal.is_admin:
        raise NotFound()
    if data.dependent_id is not None:
        covering = await membership_service.household_of_dependent(session, data.dependent_id)
        member = await membership_service.member_of(session, patient)
        household = await membership_service.household_of(session, member.id) if member else None
        if covering is None or covering != household:
            raise NotFound()
    return patient


def _digest(data: AppointmentCreate) -> str:
    return hashlib.sha256(
        json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()


async def _replay(
    session: AsyncSession, booked_by: uuid.UUID, key: str, digest: str
) -> Appointment | None:
    found = (
        await session.execute(
            select(Appointment).where(
                col(Appointment.booked_by) == booked_by, col(Appointment.idempotency_key) == key
            )
        )
    ).scalar_one_or_none()
    if found is not None and found.request_digest != digest:
        raise IdempotencyKeyReused()
    return found


async def book(
    session: AsyncSession,
    principal: Principal,
    data: AppointmentCreate,
    law: InForce,
    *,
    idempotency_key: str | None,
    today: date,
) -> tuple[Appointment, bool]:
    """Book a slot; returns the appointment and whether it is the replay of an earlier request."""
    practitioner = await practitioners.get(session, data.practitioner_id, lock=True)
    digest = _digest(data)
    if idempotency_key and (
        earlier := await _replay(session, principal.account_id, idempotency_key, digest)
    ):
        return earlier, True
    patient = await _patient_of(session, principal, data)
    now = clock.now()
    end = await _check_time(session, practitioner, data.start, now=now)
    await _check_licence(session, practitioner, data.start, data.patient_jurisdiction)
    fee = await fees.consult_fee(
        session, patient, law, today=today, jurisdiction=data.patient_jurisdiction
    )
    appointment = Appointment(
        practitioner_id=practitioner.id,
        patient_account_id=patient,
        dependent_id=data.dependent_id,
        booked_by=principal.account_id,
        clinic_id=data.clinic_id,
        start=data.start,
        end=end,
        patient_jurisdiction=data.patient_jurisdiction,
        reason=data.reason,
        referral_reason=data.referral_reason,
        preferred_language=data.preferred_language,
        interpreter_needed=data.interpreter_needed,
        fee_minor=fee.amount_minor,
        fee_currency=fee.currency,
        fee_class=fee.fee_class,
        fee_explanation=fee.explanation,
        bylaws_version=fee.bylaws_version,
        idempotency_key=idempotency_key,
        request_digest=digest,
    )
    try:
        async with session.begin_nested():
            session.add(appointment)
    except IntegrityError as exc:
        # the same key raced in with another request, or the database's own guard: the slot
        # went meanwhile
        if idempotency_key and (
            earlier := await _replay(session, principal.account_id, idempotency_key, digest)
        ):
            return earlier, True
        raise SlotTaken() from exc
    _event(session, appointment, "booked", principal.account_id, start=data.start.isoformat())
    await session.flush()
    return appointment, False


async def get(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment | None:
    """The appointment, for the consult's own checks of who takes part (`visible` is the
    check for everything else)."""
    return await session.get(Appointment, appointment_id)


async def of_patient(session: AsyncSession, patient_account_id: uuid.UUID) -> list[uuid.UUID]:
    """The appointments of a patient (those of their dependents included)."""
    rows = await session.execute(
        select(col(Appointment.id)).where(col(Appointment.patient_account_id) == patient_account_id)
    )
    return list(rows.scalars())


async def visible(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, *, lock: bool = False
) -> Appointment:
    """The appointment if the caller takes part in it (patient, booker, its doctor, its clinic's
    staff) or is an admin; 404 for anyone else, so nothing leaks by existence."""
    appointment = await session.get(Appointment, appointment_id, with_for_update=lock)
    if appointment is None or not await _takes_part(session, principal, appointment):
        raise NotFound()
    await audit.record_access(
        session,
        [appointment.patient_account_id],
        principal,
        resource=f"appointment:{appointment.id}",
    )
    return appointment


async def _takes_part(
    session: AsyncSession, principal: Principal, appointment: Appointment
) -> bool:
    if principal.is_admin or principal.account_id == appointment.patient_account_id:
        return True
    # who booked for someone takes part, except for a clinic: its staff take part while they
    # work there (a nurse who left keeps none of the consults she booked)
    if appointment.clinic_id is None and principal.account_id == appointment.booked_by:
        return True
    if await _is_doctor_of(session, principal, appointment):
        return True
    return appointment.clinic_id is not None and await clinics_service.is_staff(
        session, appointment.clinic_id, principal.account_id
    )


async def _is_doctor_of(
    session: AsyncSession, principal: Principal, appointment: Appointment
) -> bool:
    doctor = await practitioners.account_of(session, appointment.practitioner_id)
    return doctor is not None and doctor == principal.account_id


async def cancel(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    reason: str,
    law: InForce,
) -> Appointment:
    """Cancel with a reason (patient, booker, clinic, doctor or admin); a cancellation within the
    bylaws' window before the start is marked late."""
    appointment = await visible(session, principal, appointment_id, lock=True)
    if appointment.status not in ("booked", "arrived"):
        raise InvalidAppointmentTransition(status=appointment.status, target="cancelled")
    now = clock.now()
    window = timedelta(hours=law.bylaws.scheduling.late_cancellation_hours)
    appointment.status = "cancelled"
    appointment.status_reason = reason
    appointment.status_changed_by = principal.account_id
    appointment.late_cancellation = appointment.start - now < window
    appointment.updated_at = now
    _event(
        session,
        appointment,
        "cancelled",
        principal.account_id,
        reason=reason,
        late=appointment.late_cancellation,
    )
    await session.flush()
    return appointment


async def reschedule(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, start: datetime
) -> Appointment:
    """Move a booked appointment to another open slot of the same doctor, atomically: the new
    time is taken and the old one freed in one transaction, or nothing changes."""
    appointment = await visible(session, principal, appointment_id)
    if appointment.status != "booked":
        raise InvalidAppointmentTransition(status=appointment.status, target="rescheduled")
    practitioner = await practitioners.get(session, appointment.practitioner_id, lock=True)
    await session.refresh(appointment, with_for_update=True)
    if appointment.status != "booked":  # it changed while we waited for the lock
        raise InvalidAppointmentTransition(status=appointment.status, target="rescheduled")
    end = await _check_time(session, practitioner, start, now=clock.now(), excluding=appointment.id)
    await _check_licence(session, practitioner, start, appointment.patient_jurisdiction)
    previous = appointment.start
    appointment.start, appointment.end = start, end
    appointment.needs_reschedule = False
    appointment.updated_at = clock.now()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise SlotTaken() from exc
    _event(
        session,
        appointment,
        "rescheduled",
        principal.account_id,
        previous=previous.isoformat(),
        start=start.isoformat(),
    )
    await session.flush()
    return appointment


# A patient may be marked arrived this long before the start (the waiting room opens early).
ARRIVAL_WINDOW = timedelta(hours=1)

# target status -> statuses it may follow
_STATUS_FROM: dict[str, set[str]] = {
    "arrived": {"booked"},
    "fulfilled": {"booked", "arrived"},
    "noshow": {"booked", "arrived"},
    "entered-in-error": {"booked", "arrived", "fulfilled", "cancelled", "noshow"},
}


async def set_status(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    status: str,
    reason: str | None,
    timezone: str,
) -> Appointment:
    """The doctor marks arrived, fulfilled or no-show; only an admin marks entered-in-error.
    Fulfilled records the consult's patronage; entered-in-error reverses it."""
    appointment = await visible(session, principal, appointment_id, lock=True)
    doctor = await _is_doctor_of(session, principal, appointment)
    if status == "entered-in-error" and not principal.is_admin:
        raise Forbidden(reason="only an admin marks an appointment entered in error")
    if not (doctor or principal.is_admin):
        raise Forbidden(reason="the doctor of this consult records what happened")
    if appointment.status not in _STATUS_FROM[status]:
        raise InvalidAppointmentTransition(status=appointment.status, target=status)
    now = clock.now()
    opens = appointment.start - (ARRIVAL_WINDOW if status == "arrived" else timedelta(0))
    if status != "entered-in-error" and now < opens:
        raise TooEarly(status=status, start=appointment.start.isoformat())
    was = appointment.status
    appointment.status = status
    appointment.status_reason = reason
    appointment.status_changed_by = principal.account_id
    appointment.updated_at = clock.now()
    _event(session, appointment, f"status:{status}", principal.account_id, reason=reason)
    if status == "fulfilled":
        doctor_account = await practitioners.account_of(session, appointment.practitioner_id)
        assert doctor_account is not None
        await patronage.consult_fulfilled(
            session,
            appointment_id=appointment.id,
            patient_account_id=appointment.patient_account_id,
            doctor_account_id=doctor_account,
            fee_minor=appointment.fee_minor,
            currency=appointment.fee_currency,
            minutes=int((appointment.end - appointment.start).total_seconds() // 60),
            at=appointment.start,
            timezone=timezone,
        )
    elif status == "entered-in-error" and was == "fulfilled":
        await patronage.consult_undone(
            session,
            appointment_id=appointment.id,
            fee_only=False,
            recorded_by=principal.account_id,
            note=reason or "entered in error",
        )
    await session.flush()
    return appointment


async def refund(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, *, reason: str
) -> Appointment:
    """An admin refunds a fulfilled consult's fee; its patronage is reversed, once."""
    if not principal.is_admin:
        raise Forbidden(reason="only an admin refunds a consult fee")
    appointment = await visible(session, principal, appointment_id, lock=True)
    if appointment.status != "fulfilled":
        raise InvalidAppointmentTransition(status=appointment.status, target="refunded")
    reversed_ = await patronage.consult_undone(
        session,
        appointment_id=appointment.id,
        fee_only=True,
        recorded_by=principal.account_id,
        note=reason,
    )
    already = (
        await session.execute(
            select(col(AppointmentEvent.id)).where(
                col(AppointmentEvent.appointment_id) == appointment.id,
                col(AppointmentEvent.type) == "refunded",
            )
        )
    ).first()
    if already is None:
        _event(
            session,
            appointment,
            "refunded",
            principal.account_id,
            reason=reason,
            patronage=reversed_,
        )
    await session.flush()
    return appointment


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    cursor: str | None,
    limit: int | None,
) -> tuple[list[Appointment], str | None]:
    """Yours as patient or booker; your schedule as a doctor; your clinic's as staff; all for
    admins. Ordered by start."""
    statement = select(Appointment)
    if not principal.is_admin:
        mine = [
            col(Appointment.patient_account_id) == principal.account_id,
            and_(
                col(Appointment.booked_by) == principal.account_id,
                col(Appointment.clinic_id).is_(None),
            ),
        ]
        if principal.has_role(Role.DOCTOR):
            own = await practitioners.of_account(session, principal.account_id)
            mine.append(col(Appointment.practitioner_id).in_([own.id] if own else []))
        if principal.has_role(Role.CLINIC_STAFF):
            clinics = await clinics_service.staff_clinics(session, principal.account_id)
            mine.append(col(Appointment.clinic_id).in_(clinics))
        statement = statement.where(or_(*mine))
    if status is not None:
        statement = statement.where(col(Appointment.status) == status)
    if starts_after is not None:
        statement = statement.where(col(Appointment.start) >= starts_after)
    if starts_before is not None:
        statement = statement.where(col(Appointment.start) < starts_before)
    rows, next_cursor = await paginate(
        session,
        statement,
        time_column=col(Appointment.start),
        id_column=col(Appointment.id),
        cursor=cursor,
        limit=limit,
    )
    # a list is a read of each appointment, as one fetched by id is: in the patients' logs
    await audit.record_access(
        session, {a.patient_account_id for a in rows}, principal, resource="appointments"
    )
    return rows, next_cursor


async def events(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentEvent]:
    rows = await session.execute(
        select(AppointmentEvent)
        .where(col(AppointmentEvent.appointment_id) == appointment_id)
        .order_by(col(AppointmentEvent.at), col(AppointmentEvent.id))
    )
    return list(rows.scalars())
