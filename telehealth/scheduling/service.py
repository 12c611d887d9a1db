"""Booking, rescheduling, cancelling and tracking appointments.

No double booking, whatever the concurrency: a booking first locks its practitioner's row
(PostgreSQL `SELECT … FOR UPDATE`; SQLite transactions are `BEGIN IMMEDIATE`), so bookings for
one practitioner run one after another and each sees the ones before; a partial unique index on
(practitioner, start) over live appointments backs this up in the database itself.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import NotVerified
from cooperative.audit import service as audit
from cooperative.bylaws.service import InForce
from cooperative.kernel import clock, idempotency, moments, tables
from cooperative.kernel.errors import Forbidden, NotFound, TequioError, Text
from cooperative.kernel.pagination import Page, page_async, paginate
from cooperative.kernel.principal import Principal, Role
from cooperative.membership import fees
from cooperative.membership import service as membership_service
from cooperative.notifications import preferences as notification_preferences
from cooperative.notifications import service as outbox
from cooperative.surplus import patronage
from telehealth.clinics import service as clinics_service
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.service import Practitioner
from telehealth.scheduling import agenda, notices, openings, together, views
from telehealth.scheduling import reminders as remind
from telehealth.scheduling import rules as slots
from telehealth.scheduling.errors import (
    BeyondHorizon,
    ConsultBegun,
    NotASlot,
    NotLicensed,
    SlotTaken,
    SlotUnavailable,
    TooEarly,
    TooSoon,
)
from telehealth.scheduling.models import Appointment as Appointment  # other domains name it
from telehealth.scheduling.models import AppointmentEvent
from telehealth.scheduling.rules import (
    HOLDING,
    AppointmentStatus,
    RecordedStatus,
    check_change,
    recordable_from,
)
from telehealth.scheduling.schemas import AppointmentCreate, AppointmentPublic


def _stored(value: object) -> object:
    """A value as an event's JSON payload keeps it, with its type: booleans and numbers as
    such, instants as RFC 3339 in UTC, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return moments.stored(value)
    return str(value)


_INSERT_EVENT = insert(tables.table(AppointmentEvent))  # a plain row, no object


def _new_event(
    appointment: Appointment, kind: str, actor: uuid.UUID | None, **payload: object
) -> AppointmentEvent:
    return AppointmentEvent(
        appointment_id=appointment.id,
        type=kind,
        actor_account_id=actor,
        payload={key: _stored(value) for key, value in payload.items()},
    )


def _event(
    session: AsyncSession,
    appointment: Appointment,
    kind: str,
    actor: uuid.UUID | None,
    **payload: object,
) -> None:
    session.add(_new_event(appointment, kind, actor, **payload))


def _change(
    principal: Principal, key: str | None, request: dict[str, str]
) -> idempotency.IdempotentCreate[AppointmentEvent]:
    """A change to an appointment (cancel, reschedule) its sender may repeat: the event it
    writes keeps the key, so a retry finds it and answers with the appointment as it is."""
    return idempotency.IdempotentCreate(
        AppointmentEvent,
        cast("Mapped[uuid.UUID]", AppointmentEvent.actor_account_id),  # set on every change
        principal.account_id,
        key,
        idempotency.digest(request),
    )


async def _record_change(
    session: AsyncSession,
    change: idempotency.IdempotentCreate[AppointmentEvent],
    event: AppointmentEvent,
) -> bool:
    """Write the change's event before the change itself; True if the same keyed request got
    in first (then nothing is to be changed)."""
    if change.key is None:
        session.add(event)
        return False
    _, replayed = await change.insert(session, event)
    return replayed


async def _check_time(
    session: AsyncSession,
    practitioner: Practitioner,
    start: datetime,
    *,
    now: datetime,
    excluding: uuid.UUID | None = None,
) -> datetime:
    """The consult's end if `start` is an open slot now; the precise refusal otherwise. An open
    slot's row answers at once; without one the rules decide, and say why not."""
    if excluding is None and (
        end := await openings.bookable(session, practitioner.id, start, now=now)
    ):
        return end
    schedule = await agenda.schedule(session, practitioner)
    if schedule is None:  # the doctor's settings are broken (logged): nothing to book
        raise NotASlot(start=start)
    problem = slots.check_start(schedule, start, now=now)
    if problem == "not-a-slot":
        raise NotASlot(start=start)
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
        raise NotLicensed(jurisdiction=jurisdiction, day=day)


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


async def book(
    session: AsyncSession,
    principal: Principal,
    data: AppointmentCreate,
    law: InForce,
    *,
    idempotency_key: str | None,
    today: date,
    reminders: Sequence[timedelta],
) -> tuple[Appointment, bool]:
    """Book a slot; returns the appointment and whether it is the replay of an earlier request.
    Booking for someone else (clinic staff, an admin) reads their name: it goes in their
    access log, as any read of the appointment does. The patient's reminders are queued at
    each of `reminders` before the start (`telehealth.scheduling.reminders`). An account
    whose contact is not verified yet books nothing (`NotVerified`)."""
    if not principal.verified:
        raise NotVerified()
    appointment, replayed = await _book(
        session,
        principal,
        data,
        law,
        idempotency_key=idempotency_key,
        today=today,
        reminders=reminders,
    )
    await audit.record_access(
        session,
        [appointment.patient_account_id],
        principal,
        resource=f"appointment:{appointment.id}",
    )
    return appointment, replayed


def _new_row(
    principal: Principal,
    practitioner: Practitioner,
    patient: uuid.UUID,
    data: AppointmentCreate,
    end: datetime,
    fee: fees.ConsultFee,
) -> dict[str, object]:
    """The new appointment's row, every column (it is inserted without being built)."""
    return idempotency.with_defaults(
        Appointment,
        dict(
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
        ),
    )


async def _book(
    session: AsyncSession,
    principal: Principal,
    data: AppointmentCreate,
    law: InForce,
    *,
    idempotency_key: str | None,
    today: date,
    reminders: Sequence[timedelta],
) -> tuple[Appointment, bool]:
    practitioner = await practitioners.locked_with_account(session, data.practitioner_id)
    retry = idempotency.IdempotentCreate(
        Appointment,
        col(Appointment.booked_by),
        principal.account_id,
        idempotency_key,
        idempotency.digest(data.model_dump(mode="json")),
    )
    try:
        patient = await _patient_of(session, principal, data)
        now = clock.now()
        end = await _check_time(session, practitioner, data.start, now=now)
        await _check_licence(session, practitioner, data.start, data.patient_jurisdiction)
        fee = await fees.consult_fee(
            session, patient, law, today=today, jurisdiction=data.patient_jurisdiction
        )
    except TequioError:  # a retry whose first answer was lost finds its slot taken by itself
        if (earlier := await retry.earlier(session)) is not None:
            return earlier, True
        raise
    values = _new_row(principal, practitioner, patient, data, end, fee)
    if together.supported(session):  # PostgreSQL: the booking's writes in one statement
        booked = await _book_together(session, principal, practitioner, values, retry, reminders)
        if booked is not None:
            return booked, False
        # it met a conflict and wrote nothing: row by row, which tells the key from the slot
    try:  # the row comes back from the INSERT: it is not built first
        appointment, replayed = await retry.insert_values(session, values)
    except IntegrityError as exc:  # the database's own guard: the slot went meanwhile
        raise SlotTaken() from exc
    if replayed:  # the same key raced in with another request
        return appointment, True
    await _booked(session, principal, appointment, practitioner, reminders)
    await session.flush()
    return appointment, False


async def _book_together(
    session: AsyncSession,
    principal: Principal,
    practitioner: Practitioner,
    values: dict[str, object],
    retry: idempotency.IdempotentCreate[Appointment],
    reminders: Sequence[timedelta],
) -> Appointment | None:
    """What `_booked` writes, with the appointment, in one statement (`together`): the
    messages are made from the appointment before it is inserted. None, with nothing written,
    when the insert meets a conflict."""
    values = retry.keyed(values)
    # the messages are made from the appointment before it is inserted: this object is never
    # added to the session (the one the statement returns is)
    appointment = Appointment(**cast("dict[str, Any]", values))
    event = _booked_event(principal, appointment)
    messages = await _booked_messages(session, appointment, practitioner, event["id"], reminders)
    return await together.write(
        session,
        values,
        event,
        await outbox.new_rows(session, messages),
        openings.taking(practitioner, appointment.start, appointment.end),
    )


def _booked_event(principal: Principal, appointment: Appointment) -> dict[str, Any]:
    """The `booked` event's row (a plain row, no object: nothing reads it in the request)."""
    return {
        "id": uuid.uuid4(),
        "appointment_id": appointment.id,
        "type": "booked",
        "at": clock.now(),
        "actor_account_id": principal.account_id,
        "payload": {"start": _stored(appointment.start)},
    }


async def _booked_messages(
    session: AsyncSession,
    appointment: Appointment,
    practitioner: Practitioner,
    event_id: uuid.UUID,
    reminders: Sequence[timedelta],
) -> list[outbox.NewMessage]:
    """The doctor's notice (unless the doctor booked it) and the patient's reminders."""
    # the doctor's and the patient's notification preferences, in one statement for both
    await notification_preferences.read(
        session, [practitioner.account_id, appointment.patient_account_id]
    )
    notice = notices.booked(appointment, practitioner, event_id=event_id)
    messages = await remind.first(
        session, appointment, doctor_zone=practitioner.timezone, offsets=reminders
    )
    return [notice, *messages] if notice else messages


async def _booked(
    session: AsyncSession,
    principal: Principal,
    appointment: Appointment,
    practitioner: Practitioner,
    reminders: Sequence[timedelta],
) -> None:
    """What a new booking writes beside the appointment: its event, the doctor's notice (unless
    the doctor booked it), the patient's reminders, and the open slots it takes. The event and
    the messages are written as plain rows (one INSERT each): nothing reads them back in the
    request, and building their objects cost more than writing them."""
    event = _booked_event(principal, appointment)
    await session.execute(_INSERT_EVENT, event)
    messages = await _booked_messages(session, appointment, practitioner, event["id"], reminders)
    await outbox.enqueue_new(session, messages)
    await openings.take(session, practitioner, appointment.start, appointment.end)


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
    idempotency_key: str | None = None,
) -> tuple[Appointment, bool]:
    """Cancel with a reason (patient, booker, clinic, doctor or admin); a cancellation within the
    bylaws' window before the start is marked late. Once the consult has begun, only its doctor
    (or an admin) cancels it (`ConsultBegun`). The patient's reminders are cancelled; the
    doctor, unless they cancelled it, is told (`notices`). Returns the appointment and whether
    this was the retry of a cancel sent before with the same `idempotency_key`."""
    appointment, practitioner = await _locked(session, principal, appointment_id)
    change = _change(
        principal,
        idempotency_key,
        {"operation": "cancel", "appointment": str(appointment.id), "reason": reason},
    )
    if await change.earlier(session) is not None:
        return appointment, True
    check_change(appointment.status, AppointmentStatus.CANCELLED)
    now = clock.now()
    if slots.begun(appointment.status, appointment.start, now) and not (
        principal.is_admin or await _is_doctor_of(session, principal, appointment)
    ):
        raise ConsultBegun()
    hours = law.bylaws.scheduling.late_cancellation_hours
    late = now > slots.free_cancellation_until(appointment.start, hours)
    event = _new_event(appointment, "cancelled", principal.account_id, reason=reason, late=late)
    if await _record_change(session, change, event):
        return appointment, True
    appointment.status = AppointmentStatus.CANCELLED
    appointment.status_reason = reason
    appointment.status_changed_by = principal.account_id
    appointment.late_cancellation = late
    appointment.updated_at = now
    await remind.cancel(session, appointment, reason="the consult was cancelled")
    await notices.cancelled(session, appointment, practitioner, event)
    await session.flush()
    await openings.free(session, practitioner, appointment.start, appointment.end)
    return appointment, False


async def _locked(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> tuple[Appointment, Practitioner]:
    """The appointment, if the caller may see it, and its practitioner, both locked in the
    order every change takes them (the practitioner first, as a booking does), so that a change
    that frees time queues with the bookings and reschedules of that practitioner."""
    appointment = await visible(session, principal, appointment_id)
    practitioner = await practitioners.any_by_id(session, appointment.practitioner_id, lock=True)
    await session.refresh(appointment, with_for_update=True)
    return appointment, practitioner


async def reschedule(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    start: datetime,
    idempotency_key: str | None = None,
    *,
    reminders: Sequence[timedelta],
) -> tuple[Appointment, bool]:
    """Move a booked appointment to another open slot of the same doctor, atomically: the new
    time is taken and the old one freed in one transaction, or nothing changes. Returns the
    appointment and whether this was the retry of a reschedule sent before with the same
    `idempotency_key`; a move to the time it already has changes nothing."""
    appointment = await visible(session, principal, appointment_id)
    change = _change(
        principal,
        idempotency_key,
        {
            "operation": "reschedule",
            "appointment": str(appointment.id),
            "start": start.astimezone(UTC).isoformat(),
        },
    )
    practitioner = await practitioners.get(session, appointment.practitioner_id, lock=True)
    await session.refresh(appointment, with_for_update=True)
    if await change.earlier(session) is not None:
        return appointment, True
    check_change(appointment.status, "rescheduled")  # it may have changed meanwhile
    if start == appointment.start:
        return appointment, False
    end = await _check_time(session, practitioner, start, now=clock.now(), excluding=appointment.id)
    await _check_licence(session, practitioner, start, appointment.patient_jurisdiction)
    previous, previous_end = appointment.start, appointment.end
    event = _new_event(
        appointment,
        "rescheduled",
        principal.account_id,
        previous=previous,
        start=start,
    )
    appointment.start, appointment.end = start, end
    appointment.needs_reschedule = False
    appointment.updated_at = clock.now()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise SlotTaken() from exc
    if await _record_change(session, change, event):  # cannot be: the row is locked
        raise SlotTaken()
    await openings.take(session, practitioner, start, end)
    await remind.plan(session, appointment, doctor_zone=practitioner.timezone, offsets=reminders)
    await session.flush()
    await openings.free(session, practitioner, previous, previous_end)
    return appointment, False


async def set_status(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    status: RecordedStatus,
    reason: str | None,
    timezone: str,
) -> Appointment:
    """The doctor marks arrived, fulfilled or no-show; only an admin marks entered-in-error.
    Fulfilled records the consult's patronage; entered-in-error reverses it."""
    appointment, practitioner = await _locked(session, principal, appointment_id)
    doctor = await _is_doctor_of(session, principal, appointment)
    if status == RecordedStatus.ENTERED_IN_ERROR and not principal.is_admin:
        raise Forbidden(
            reason=Text(
                "only an admin marks an appointment entered in error",
                "solo un administrador marca una cita como registrada por error",
            )
        )
    if not (doctor or principal.is_admin):
        raise Forbidden(
            reason=Text(
                "the doctor of this consult records what happened",
                "el médico de esta consulta registra lo que pasó",
            )
        )
    target = AppointmentStatus(status)
    check_change(appointment.status, target)
    opens = recordable_from(status, appointment.start)
    if opens is not None and clock.now() < opens:
        raise TooEarly(status=status, start=appointment.start)
    was = appointment.status
    appointment.status = target
    appointment.status_reason = reason
    appointment.status_changed_by = principal.account_id
    appointment.updated_at = clock.now()
    _event(session, appointment, f"status:{status}", principal.account_id, reason=reason)
    if target not in HOLDING:
        await remind.cancel(session, appointment, reason=f"the consult was marked {status}")
    await _patronage(session, principal, appointment, was=was, reason=reason, timezone=timezone)
    await session.flush()
    if was in HOLDING and target not in HOLDING:
        await openings.free(session, practitioner, appointment.start, appointment.end)
    return appointment


async def _patronage(
    session: AsyncSession,
    principal: Principal,
    appointment: Appointment,
    *,
    was: str,
    reason: str | None,
    timezone: str,
) -> None:
    """A consult now fulfilled is patronage; one entered in error after it was fulfilled is
    not anymore."""
    if appointment.status == AppointmentStatus.FULFILLED:
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
    elif (
        appointment.status == AppointmentStatus.ENTERED_IN_ERROR
        and was == AppointmentStatus.FULFILLED
    ):
        await patronage.consult_undone(
            session,
            appointment_id=appointment.id,
            fee_only=False,
            recorded_by=principal.account_id,
            note=reason or "entered in error",
        )


async def refund(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, *, reason: str
) -> Appointment:
    """An admin refunds a fulfilled consult's fee; its patronage is reversed, once."""
    if not principal.is_admin:
        raise Forbidden(
            reason=Text(
                "only an admin refunds a consult fee",
                "solo un administrador reembolsa la cuota de una consulta",
            )
        )
    appointment = await visible(session, principal, appointment_id, lock=True)
    check_change(appointment.status, "refunded")
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
    status: AppointmentStatus | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    cursor: str | None,
    limit: int | None,
) -> Page[AppointmentPublic]:
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
    found = await paginate(
        session,
        statement,
        time_column=col(Appointment.start),
        id_column=col(Appointment.id),
        cursor=cursor,
        limit=limit,
    )
    # a list is a read of each appointment, as one fetched by id is: in the patients' logs
    await audit.record_access(
        session, {a.patient_account_id for a in found[0]}, principal, resource="appointments"
    )
    seen = views.Seen()
    return await page_async(
        found,
        lambda appointment: views.appointment_public(session, principal, appointment, seen),
    )
