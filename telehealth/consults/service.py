"""Who may enter a consult's room, the waiting room, and what a reconnecting participant gets.

Everything here is in the database, so every worker sees the same room."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal
from telehealth.clinics import service as clinics_service
from telehealth.consults import notices, rules, views
from telehealth.consults.errors import AlreadyAParticipant, NotAConsult, RoomNotOpen
from telehealth.consults.models import (
    ConsultEvent,
    ConsultParticipant,
    PrecheckResult,
    SignalMemo,
)
from telehealth.consults.schemas import ParticipantPublic, PrecheckResultPublic
from telehealth.practitioners import service as practitioners
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.rules import LIVE
from telehealth.scheduling.service import Appointment

CORE_ROLES = frozenset({"doctor", "patient", "guardian"})  # the consult is theirs


async def roles_in(session: AsyncSession, appointment: Appointment) -> dict[uuid.UUID, str]:
    """Everyone who takes part: the patient (the responsible member, for a dependent), the
    doctor, the clinic's staff for clinic-assisted consults, and invited interpreters."""
    roles: dict[uuid.UUID, str] = {
        appointment.patient_account_id: "guardian" if appointment.dependent_id else "patient"
    }
    doctor = await practitioners.account_of(session, appointment.practitioner_id)
    if doctor is not None:
        roles[doctor] = "doctor"
    if appointment.clinic_id is not None:
        for account_id in await clinics_service.staff_accounts(session, appointment.clinic_id):
            roles.setdefault(account_id, "clinic")
    invited = await session.execute(
        select(ConsultParticipant).where(
            col(ConsultParticipant.appointment_id) == appointment.id,
            col(ConsultParticipant.role) == "interpreter",
        )
    )
    for participant in invited.scalars():
        roles.setdefault(participant.account_id, "interpreter")
    return roles


async def room_of(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> tuple[Appointment, str]:
    """The appointment and the caller's role in its consult; 404 for anyone not in it."""
    appointment = await scheduling.get(session, appointment_id)
    if appointment is None:
        raise NotFound()
    role = (await roles_in(session, appointment)).get(principal.account_id)
    if role is None:
        raise NotFound()
    return appointment, role


async def join(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    window: rules.RoomWindow,
) -> tuple[ConsultParticipant, Appointment]:
    """Enter the room: the doctor is in at once; everyone else waits to be admitted (the
    patient's entry tells the doctor, once per consult)."""
    appointment, role = await room_of(session, principal, appointment_id)
    if appointment.status not in LIVE:
        raise NotAConsult(status=appointment.status)
    if rules.room_state(appointment.start, appointment.end, clock.now(), window) != "open":
        raise RoomNotOpen(
            opens=int(window.opens_before.total_seconds() // 60),
            closes=int(window.closes_after.total_seconds() // 60),
        )
    participant = await session.get(ConsultParticipant, (appointment.id, principal.account_id))
    if participant is None:
        participant = ConsultParticipant(
            appointment_id=appointment.id, account_id=principal.account_id, role=role
        )
        session.add(participant)
    participant.role = role
    if role == "doctor" and participant.admitted_at is None:
        participant.admitted_at = clock.now()
    if role in ("patient", "guardian"):  # the doctor hears of it once (`notices`)
        await notices.patient_waiting(session, appointment)
    await session.flush()
    return participant, appointment


async def _doctor_or_admin(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> Appointment:
    appointment, role = await room_of(session, principal, appointment_id)
    if role != "doctor" and not principal.is_admin:
        raise Forbidden(
            reason=Text(
                "the doctor admits participants and invites interpreters",
                "el médico admite a los participantes e invita a los intérpretes",
            )
        )
    return appointment


async def admit(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, account_id: uuid.UUID
) -> ConsultParticipant:
    await _doctor_or_admin(session, principal, appointment_id)
    participant = await let_in(session, appointment_id, account_id)
    if participant is None:
        raise NotFound()
    return participant


async def let_in(
    session: AsyncSession, appointment_id: uuid.UUID, account_id: uuid.UUID
) -> ConsultParticipant | None:
    """Admit someone who joined (the caller has checked it is the doctor's decision)."""
    participant = await session.get(ConsultParticipant, (appointment_id, account_id))
    if participant is not None:
        participant.admitted_at = participant.admitted_at or clock.now()
        await session.flush()
    return participant


async def invite_interpreter(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, account_id: uuid.UUID
) -> ConsultParticipant:
    """Invite an account as the consult's interpreter (again: no change). An unknown or closed
    account is not found (404); someone already in the consult in another role is a conflict."""
    appointment = await _doctor_or_admin(session, principal, appointment_id)
    account = await accounts_service.get(session, account_id)
    if account is None or not account.is_active:
        raise NotFound()
    role = (await roles_in(session, appointment)).get(account_id)
    if role not in (None, "interpreter"):
        raise AlreadyAParticipant(role=role)
    participant = await session.get(ConsultParticipant, (appointment.id, account_id))
    if participant is None:
        participant = ConsultParticipant(
            appointment_id=appointment.id,
            account_id=account_id,
            role="interpreter",
            invited_by=principal.account_id,
        )
        session.add(participant)
        await session.flush()
    return participant


async def participants(
    session: AsyncSession, appointment_id: uuid.UUID
) -> list[ConsultParticipant]:
    rows = await session.execute(
        select(ConsultParticipant)
        .where(col(ConsultParticipant.appointment_id) == appointment_id)
        .order_by(col(ConsultParticipant.created_at))
    )
    return list(rows.scalars())


async def waiting_room(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[ParticipantPublic]:
    """Who is in the room and who waits, in the order they joined: for the doctor and the
    patient, and for the others (clinic staff, an interpreter) once admitted; until then the
    room is not theirs to see."""
    _, role = await room_of(session, principal, appointment_id)
    me = await session.get(ConsultParticipant, (appointment_id, principal.account_id))
    if role not in CORE_ROLES and (me is None or me.admitted_at is None):
        raise Forbidden(
            reason=Text("wait for the doctor to admit you", "espere a que el médico lo admita")
        )
    rows = await paginate(
        session,
        select(ConsultParticipant).where(col(ConsultParticipant.appointment_id) == appointment_id),
        time_column=col(ConsultParticipant.created_at),
        id_column=col(ConsultParticipant.account_id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, views.participant_public)


async def may_connect(
    session: AsyncSession,
    appointment_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    window: rules.RoomWindow,
    now: datetime,
) -> ConsultParticipant | None:
    """The participant, if they joined, still take part (an erased or closed account does not),
    and the room is open now."""
    appointment = await scheduling.get(session, appointment_id)
    if appointment is None or appointment.status not in LIVE:
        return None
    if rules.room_state(appointment.start, appointment.end, now, window) != "open":
        return None
    if account_id not in await roles_in(session, appointment):
        return None
    account = await accounts_service.get(session, account_id)
    if account is None or not account.is_active:
        return None
    return await session.get(ConsultParticipant, (appointment_id, account_id))


async def set_present(
    session: AsyncSession,
    appointment_id: uuid.UUID,
    account_id: uuid.UUID,
    connection: str,
    present: bool,
) -> None:
    """A socket arrives (present) or goes. A socket that went after the same person's newer one
    arrived (a reconnect racing the old socket's close) leaves them present."""
    participant = await session.get(ConsultParticipant, (appointment_id, account_id))
    if participant is None:
        return
    was_present = participant.present
    if present:
        participant.present, participant.connection = True, connection
    elif participant.connection in (None, connection):
        participant.present, participant.connection = False, None
    if participant.present != was_present:
        note_event(session, appointment_id, "joined" if present else "left", account_id)
    await session.flush()


def note_event(
    session: AsyncSession,
    appointment_id: uuid.UUID,
    kind: str,
    account_id: uuid.UUID | None = None,
    value: str | None = None,
) -> None:
    """Keep what the room just learnt (presence, media mode, audio only) for the encounter."""
    session.add(
        ConsultEvent(appointment_id=appointment_id, account_id=account_id, kind=kind, value=value)
    )


async def note_media(
    session: AsyncSession, appointment_id: uuid.UUID, account_id: uuid.UUID, *, audio_only: bool
) -> None:
    """A participant said they are on audio only (or back on video): kept when it changes."""
    value = "audio_only" if audio_only else "video"
    last = await session.execute(
        select(col(ConsultEvent.value))
        .where(
            col(ConsultEvent.appointment_id) == appointment_id,
            col(ConsultEvent.account_id) == account_id,
            col(ConsultEvent.kind) == "media",
        )
        .order_by(col(ConsultEvent.at).desc())
        .limit(1)
    )
    if (last.scalar_one_or_none() or "video") != value:
        note_event(session, appointment_id, "media", account_id, value)
        await session.flush()


async def events(session: AsyncSession, appointment_id: uuid.UUID) -> list[ConsultEvent]:
    """What the room learnt during the consult, in the order it happened."""
    rows = await session.execute(
        select(ConsultEvent)
        .where(col(ConsultEvent.appointment_id) == appointment_id)
        .order_by(col(ConsultEvent.at), col(ConsultEvent.id))
    )
    return list(rows.scalars())


async def remember(
    session: AsyncSession,
    appointment_id: uuid.UUID,
    *,
    to: uuid.UUID,
    sender: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
) -> None:
    """Keep the latest offer or answer from `sender` to `to`, for a reconnect."""
    await session.execute(
        delete(SignalMemo).where(
            col(SignalMemo.appointment_id) == appointment_id,
            col(SignalMemo.to_account_id) == to,
            col(SignalMemo.from_account_id) == sender,
            col(SignalMemo.kind) == kind,
        )
    )
    session.add(
        SignalMemo(
            appointment_id=appointment_id,
            to_account_id=to,
            from_account_id=sender,
            kind=kind,
            payload=payload,
        )
    )
    await session.flush()


async def replay(
    session: AsyncSession, appointment_id: uuid.UUID, to: uuid.UUID
) -> list[SignalMemo]:
    rows = await session.execute(
        select(SignalMemo)
        .where(
            col(SignalMemo.appointment_id) == appointment_id, col(SignalMemo.to_account_id) == to
        )
        .order_by(col(SignalMemo.at))
    )
    return list(rows.scalars())


async def precheck_results(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID | None,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[PrecheckResultPublic]:
    """The caller's pre-call checks, or with `clinic_id` the clinic's (for its staff and
    admins; 404 for anyone else), newest first."""
    statement = select(PrecheckResult)
    if clinic_id is not None:
        await clinics_service.visible(session, principal, clinic_id)
        statement = statement.where(col(PrecheckResult.clinic_id) == clinic_id)
    else:
        statement = statement.where(col(PrecheckResult.account_id) == principal.account_id)
    rows = await paginate(
        session,
        statement,
        time_column=col(PrecheckResult.created_at),
        id_column=col(PrecheckResult.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, views.precheck_result_public)
