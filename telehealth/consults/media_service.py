"""Use cases for a consult's media: relay mode and which worker hosts the relay, consent to
recording, and the recordings themselves (readable by the patient and the doctor only)."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal
from telehealth.consults import rules, views
from telehealth.consults.errors import NotAConsult, RecordingNeedsConsent, RoomNotOpen
from telehealth.consults.models import (
    ConsultParticipant,
    ConsultRecording,
    ConsultRoom,
    RecordingConsent,
    SignalMemo,
)
from telehealth.consults.schemas import ConsentPublic, RecordingPublic
from telehealth.consults.service import CORE_ROLES, note_event, participants, room_of
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.rules import LIVE
from telehealth.scheduling.service import Appointment

READERS = ("patient", "guardian", "doctor")  # who may read a recording
Claim = Literal["mine", "other", "off"]


async def room(session: AsyncSession, appointment_id: uuid.UUID) -> ConsultRoom:
    """The room's media state, locked for this transaction (created on first use)."""
    statement = (
        select(ConsultRoom)
        .where(col(ConsultRoom.appointment_id) == appointment_id)
        .with_for_update()
    )
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            created = ConsultRoom(appointment_id=appointment_id)
            session.add(created)
        return created
    except IntegrityError:  # created by a concurrent request: take theirs
        return (await session.execute(statement)).scalar_one()


async def _open_appointment(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> tuple[Appointment, str]:
    appointment, role = await room_of(session, principal, appointment_id)
    if appointment.status not in LIVE:
        raise NotAConsult(status=appointment.status)
    return appointment, role


def _require_open(appointment: Appointment, window: rules.RoomWindow) -> None:
    if rules.room_state(appointment.start, appointment.end, clock.now(), window) != "open":
        raise RoomNotOpen(
            opens=int(window.opens_before.total_seconds() // 60),
            closes=int(window.closes_after.total_seconds() // 60),
        )


async def _admitted(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    window: rules.RoomWindow,
) -> tuple[Appointment, str]:
    appointment, role = await _open_appointment(session, principal, appointment_id)
    _require_open(appointment, window)
    me = await session.get(ConsultParticipant, (appointment_id, principal.account_id))
    if me is None or me.admitted_at is None:
        raise Forbidden(
            reason=Text(
                "join the consult and be admitted first",
                "entre primero a la consulta y espere a que lo admitan",
            )
        )
    return appointment, role


async def set_mode(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    mode: str,
    *,
    window: rules.RoomWindow,
) -> ConsultRoom:
    """Anyone admitted may move the consult to the server relay (their link may need it); only
    the doctor moves it back to peer-to-peer, which also ends a recording request."""
    _, role = await _admitted(session, principal, appointment_id, window)
    state = await room(session, appointment_id)
    if mode == "p2p" and role != "doctor":
        raise Forbidden(
            reason=Text(
                "the doctor decides to leave the server relay",
                "es el médico quien decide dejar el servidor de relevo",
            )
        )
    if state.mode != mode:
        state.mode = mode
        state.updated_at = clock.now()
        note_event(session, appointment_id, "mode", principal.account_id, mode)
    if mode == "p2p":
        state.recording_requested_by = None
        state.relay_owner = state.relay_seen_at = None
    await session.flush()
    return state


async def claim_relay(
    session: AsyncSession,
    appointment_id: uuid.UUID,
    worker: str,
    *,
    stale_after: timedelta,
) -> Claim:
    """Whether `worker` hosts the relay (`mine`: it does already, or nobody live does and it
    takes it), another live worker does (`other`), or the room is not in relay mode (`off`).
    The row lock makes two workers' claims take turns."""
    state = await room(session, appointment_id)
    if state.mode != "relay":
        return "off"
    now = clock.now()
    live = state.relay_seen_at is not None and now - state.relay_seen_at < stale_after
    if live and state.relay_owner not in (None, worker):
        return "other"
    if state.relay_owner not in (None, worker):  # its host died: so did any recording there
        await session.execute(
            update(ConsultRecording)
            .where(
                col(ConsultRecording.appointment_id) == appointment_id,
                col(ConsultRecording.stopped_at).is_(None),
            )
            .values(stopped_at=now, stop_reason="relay-lost")
        )
    state.relay_owner, state.relay_seen_at = worker, now
    await session.flush()
    return "mine"


async def media_state(session: AsyncSession, appointment_id: uuid.UUID) -> tuple[str, bool, bool]:
    """The room's media mode, whether a recording is requested and whether one is running now
    (for a joining client)."""
    state = await session.get(ConsultRoom, appointment_id)
    running = await session.scalar(
        select(col(ConsultRecording.id))
        .where(
            col(ConsultRecording.appointment_id) == appointment_id,
            col(ConsultRecording.stopped_at).is_(None),
        )
        .limit(1)
    )
    if state is None:
        return "p2p", False, running is not None
    return state.mode, state.recording_requested_by is not None, running is not None


async def relay_heartbeat(session: AsyncSession, appointment_id: uuid.UUID, worker: str) -> bool:
    """Renew `worker`'s hold on the relay; False when it should stop (mode changed, taken)."""
    state = await room(session, appointment_id)
    if state.mode != "relay" or state.relay_owner != worker:
        return False
    state.relay_seen_at = clock.now()
    await session.flush()
    return True


async def give_consent(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, recording: bool
) -> RecordingConsent | None:
    """Consent to being recorded, or withdraw it; the standing consent (None if withdrawn).
    Any participant may consent before or during the consult; withdrawing is always possible."""
    await _open_appointment(session, principal, appointment_id)
    standing = await _standing(session, appointment_id, principal.account_id)
    if recording and standing is None:
        try:
            async with session.begin_nested():
                standing = RecordingConsent(
                    appointment_id=appointment_id, account_id=principal.account_id
                )
                session.add(standing)
        except IntegrityError:  # given at the same moment by a concurrent request
            standing = await _standing(session, appointment_id, principal.account_id)
    elif not recording and standing is not None:
        standing.withdrawn_at = clock.now()
        await session.flush()
        standing = None
    return standing


async def _standing(
    session: AsyncSession, appointment_id: uuid.UUID, account_id: uuid.UUID
) -> RecordingConsent | None:
    rows = await session.execute(
        select(RecordingConsent).where(
            col(RecordingConsent.appointment_id) == appointment_id,
            col(RecordingConsent.account_id) == account_id,
            col(RecordingConsent.withdrawn_at).is_(None),
        )
    )
    return rows.scalar_one_or_none()


async def _consents_seen(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> Select[RecordingConsent]:
    """The consents the caller may see: all for the doctor and the patient, and for the others
    once admitted; someone still waiting sees only their own."""
    _, role = await _open_appointment(session, principal, appointment_id)
    statement = select(RecordingConsent).where(
        col(RecordingConsent.appointment_id) == appointment_id
    )
    me = await session.get(ConsultParticipant, (appointment_id, principal.account_id))
    if role not in CORE_ROLES and (me is None or me.admitted_at is None):
        statement = statement.where(col(RecordingConsent.account_id) == principal.account_id)
    return statement


async def consents(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> list[RecordingConsent]:
    """Every consent given and withdrawn in this consult that the caller may see, oldest
    first."""
    statement = await _consents_seen(session, principal, appointment_id)
    rows = await session.execute(
        statement.order_by(col(RecordingConsent.given_at), col(RecordingConsent.id))
    )
    return list(rows.scalars())


async def consents_page(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[ConsentPublic]:
    """`consents`, a page at a time."""
    rows = await paginate(
        session,
        await _consents_seen(session, principal, appointment_id),
        time_column=col(RecordingConsent.given_at),
        id_column=col(RecordingConsent.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, views.consent_public)


@dataclass(frozen=True, slots=True)
class RecordingState:
    requested: bool
    present: frozenset[str]
    consenting: frozenset[str]
    patient: str | None  # whose consult it is: their consent is always needed
    closes_at: datetime | None

    def must_consent(self, senders: frozenset[str]) -> set[str]:
        """Everyone whose consent recording needs now: who is in the room or sending media,
        and the patient (or the responsible member), even when a clinic's camera shows them."""
        return set(self.present | senders | ({self.patient} if self.patient else set()))

    def may_record(self, senders: frozenset[str]) -> bool:
        everyone = self.must_consent(senders)
        return self.requested and rules.may_record(everyone, set(self.consenting))


async def recording_state(
    session: AsyncSession, appointment_id: uuid.UUID, window: rules.RoomWindow
) -> RecordingState:
    """What decides whether the relay records: the doctor's request, who is in, who consents."""
    state = await session.get(ConsultRoom, appointment_id)
    appointment = await scheduling.get(session, appointment_id)
    present = frozenset(
        str(p.account_id)
        for p in await participants(session, appointment_id)
        if p.present and p.admitted_at is not None
    )
    rows = await session.execute(
        select(col(RecordingConsent.account_id)).where(
            col(RecordingConsent.appointment_id) == appointment_id,
            col(RecordingConsent.withdrawn_at).is_(None),
        )
    )
    live = appointment is not None and appointment.status in LIVE
    return RecordingState(
        requested=live and state is not None and state.recording_requested_by is not None,
        present=present,
        consenting=frozenset(str(a) for a in rows.scalars()),
        patient=str(appointment.patient_account_id) if appointment is not None else None,
        closes_at=appointment.end + window.closes_after if appointment is not None else None,
    )


async def request_recording(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    start: bool,
    *,
    window: rules.RoomWindow,
) -> tuple[ConsultRoom, bool]:
    """The doctor asks to record (the consult moves to the server relay) or to stop. Recording
    then runs only while everyone present consents: starting without that is refused. Returns
    the room and whether it just moved to the relay."""
    _, role = await _admitted(session, principal, appointment_id, window)
    if role != "doctor":
        raise Forbidden(
            reason=Text(
                "only the doctor starts or stops a recording",
                "solo el médico inicia o detiene una grabación",
            )
        )
    state = await room(session, appointment_id)
    if not start:
        state.recording_requested_by = None
        await session.flush()
        return state, False
    current = await recording_state(session, appointment_id, window)
    needed = current.must_consent(frozenset({str(principal.account_id)}))
    missing = sorted(needed - current.consenting)
    if missing:
        raise RecordingNeedsConsent(count=len(missing), extensions={"missing": missing})
    switched = state.mode != "relay"
    if switched:
        note_event(session, appointment_id, "mode", principal.account_id, "relay")
    state.recording_requested_by = principal.account_id
    state.mode = "relay"
    state.updated_at = clock.now()
    await session.flush()
    return state, switched


async def begin_segment(
    session: AsyncSession, appointment_id: uuid.UUID, file_name: str, who: frozenset[str]
) -> ConsultRecording:
    segment = ConsultRecording(
        appointment_id=appointment_id, file_name=file_name, participants=sorted(who)
    )
    session.add(segment)
    await session.flush()
    return segment


async def end_segment(
    session: AsyncSession, recording_id: uuid.UUID, reason: str, size: int | None
) -> None:
    segment = await session.get(ConsultRecording, recording_id)
    if segment is not None and segment.stopped_at is None:
        segment.stopped_at, segment.stop_reason, segment.size_bytes = clock.now(), reason, size
        await session.flush()


async def _reader(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> Appointment:
    appointment, role = await room_of(session, principal, appointment_id)
    if role not in READERS:
        raise NotFound()
    return appointment


async def recordings(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[RecordingPublic]:
    """The consult's segments, oldest first, for the patient and the doctor."""
    await _reader(session, principal, appointment_id)
    rows = await paginate(
        session,
        select(ConsultRecording).where(col(ConsultRecording.appointment_id) == appointment_id),
        time_column=col(ConsultRecording.started_at),
        id_column=col(ConsultRecording.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, lambda segment: views.recording_public(appointment_id, segment))


async def recording(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    recording_id: uuid.UUID,
) -> ConsultRecording:
    """A finished segment, for the patient or the doctor; the read goes in the access log."""
    appointment = await _reader(session, principal, appointment_id)
    segment = await session.get(ConsultRecording, recording_id)
    if segment is None or segment.appointment_id != appointment_id or segment.stopped_at is None:
        raise NotFound()
    await audit.record_access(
        session, [appointment.patient_account_id], principal, resource="consult-recording"
    )
    return segment


async def forget_recordings(session: AsyncSession, patient_account_id: uuid.UUID) -> list[str]:
    """The right to erasure in consults: withdraw every consent to recording this account
    stands by, forget the offers and answers kept for its reconnects (they hold network
    addresses), and delete the records of every recording of this patient's consults; returns
    the files to remove once the transaction has committed."""
    await session.execute(
        update(RecordingConsent)
        .where(
            col(RecordingConsent.account_id) == patient_account_id,
            col(RecordingConsent.withdrawn_at).is_(None),
        )
        .values(withdrawn_at=clock.now())
    )
    await session.execute(
        delete(SignalMemo).where(
            (col(SignalMemo.to_account_id) == patient_account_id)
            | (col(SignalMemo.from_account_id) == patient_account_id)
        )
    )
    consults = await scheduling.of_patient(session, patient_account_id)
    rows = await session.execute(
        select(ConsultRecording).where(col(ConsultRecording.appointment_id).in_(consults))
    )
    segments = list(rows.scalars())
    for segment in segments:
        await session.delete(segment)
    await session.flush()
    return [segment.file_name for segment in segments]
