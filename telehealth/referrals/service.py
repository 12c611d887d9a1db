"""The referral loop: a clinic refers a registered patient, a specialist of the specialty
accepts or declines, answers in writing or sees the patient, and the counter-referral returns
to the clinic. Who may see a referral: its patient, the referring clinic's staff, the
specialist who accepted it, and, while it waits, the specialists of its specialty (without
the patient's identity); nobody else, admins included (404). Every read by someone other than
the patient is in the patient's access log."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import clock, moments
from cooperative.kernel.errors import Forbidden, NotFound
from cooperative.kernel.pagination import Page, grouped, paginate
from cooperative.kernel.principal import Principal
from telehealth.attachments.service import Owner
from telehealth.clinics import service as clinics
from telehealth.clinics.service import Clinic
from telehealth.practitioners import service as practitioners
from telehealth.prescriptions import service as prescriptions
from telehealth.records import rules as record_rules
from telehealth.records import service as records
from telehealth.records.schemas import NotePublic
from telehealth.referrals import notices
from telehealth.referrals.errors import (
    WHO_ACTS,
    ConsultNoteNotSigned,
    ConsultNotHeld,
    NotTheReferralsConsult,
    PatientNotRegistered,
    ReferralClosedToFiles,
    ReferralConsultStillOn,
    ReferralNotInState,
)
from telehealth.referrals.models import Referral, ReferralEvent
from telehealth.referrals.rules import (
    CLOSED,
    SHUT,
    TRANSITIONS,
    UNTIED,
    Action,
    Actor,
    ReferralState,
    fell_through,
    held,
    may,
    next_state,
)
from telehealth.referrals.schemas import (
    AnswerPublic,
    CounterReferralAddendum,
    CounterReferralNote,
    CounterReferralPublic,
    Interconsultation,
    OpenReferralPublic,
    ReferralCreate,
    ReferralEventPublic,
    ReferralPublic,
)
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.rules import AppointmentStatus

T = TypeVar("T", ReferralPublic, OpenReferralPublic)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a referral, and as what."""

    patient: bool = False
    clinic: bool = False
    specialist: bool = False  # of the specialty, while it waits; then the one who accepted
    practitioner_id: uuid.UUID | None = None
    taken_on: bool = False  # the specialist who accepted it: sees who the patient is

    @property
    def actors(self) -> frozenset[Actor]:
        kinds = {Actor.CLINIC: self.clinic, Actor.SPECIALIST: self.specialist}
        return frozenset(kind for kind, holds in kinds.items() if holds)


def _event(referral: Referral, kind: str, actor: uuid.UUID | None) -> ReferralEvent:
    return ReferralEvent(
        referral_id=referral.id, type=kind, state=referral.state, actor_account_id=actor
    )


async def create(session: AsyncSession, principal: Principal, data: ReferralCreate) -> Referral:
    """A clinic's referral of one of its registered patients: sent to every specialist of the
    specialty."""
    if not await clinics.is_staff(session, data.clinic_id, principal.account_id):
        raise NotFound()
    if not await clinics.is_registered(session, data.clinic_id, data.patient_account_id):
        raise PatientNotRegistered()
    referral = Referral(
        **data.model_dump(), referred_by=principal.account_id, state=ReferralState.SENT
    )
    session.add(referral)
    await session.flush()
    session.add(_event(referral, "referral.sent", principal.account_id))
    await session.flush()
    return referral


async def _viewer(session: AsyncSession, principal: Principal, referral: Referral) -> Viewer:
    patient = principal.account_id == referral.patient_account_id
    clinic = await clinics.is_staff(session, referral.clinic_id, principal.account_id)
    doctor = await practitioners.of_account(session, principal.account_id)
    if doctor is None or not doctor.active or patient:
        # a doctor who left keeps no access; a doctor referred is the patient, not her own
        # specialist
        return Viewer(patient=patient, clinic=clinic)
    taken_on = doctor.id == referral.practitioner_id
    specialist = (
        taken_on
        or doctor.id == referral.declined_by
        or (referral.state == ReferralState.SENT and referral.specialty in doctor.specialties)
    )
    return Viewer(
        patient=patient,
        clinic=clinic,
        specialist=specialist,
        practitioner_id=doctor.id,
        taken_on=taken_on,
    )


async def visible(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID
) -> tuple[Referral, Viewer]:
    """The referral and who the caller is to it; 404 for anyone it is not for."""
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound()
    viewer = await _viewer(session, principal, referral)
    if not (viewer.patient or viewer.clinic or viewer.specialist):
        raise NotFound()
    await audit.record_access(
        session, [referral.patient_account_id], principal, resource=f"referral:{referral.id}"
    )
    return referral, viewer


async def attachment_owner(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, *, adding: bool = False
) -> Owner:
    """The referral as the owner of files, and the caller's part in it: its patient, the
    referring clinic's staff, or the specialist who accepted it. 404 for anyone else, the
    specialists of the specialty deciding whether to accept it included: a lab result or a
    photo carries the patient's name and face, which they do not see until they accept. The
    specialist loses them once the referral is declined or withdrawn, and no file is added to it
    then (`adding`). The read is logged
    by the attachments' service, under the attachment's name."""
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound()
    viewer = await _viewer(session, principal, referral)
    taken_on = viewer.taken_on and referral.state not in SHUT
    if viewer.patient:
        role = "patient"
    elif viewer.clinic:
        role = "clinic"
    elif taken_on:
        role = "doctor"
    else:
        raise NotFound()
    if adding and referral.state in SHUT:
        raise ReferralClosedToFiles()
    return Owner(referral.patient_account_id, role, referral_id=referral.id)


def _waited(referral: Referral) -> int:
    until = referral.closed_at or clock.now()
    return max(0, int((until - referral.created_at).total_seconds()))


def _common(referral: Referral, clinic: Clinic) -> dict[str, Any]:
    return {
        "id": referral.id,
        "clinic_name": clinic.name,
        "clinic_jurisdiction": clinic.jurisdiction,
        "specialty": referral.specialty,
        "urgency": referral.urgency,
        "reason": referral.reason,
        "clinical_summary": referral.clinical_summary,
        "diagnostic_impression": referral.diagnostic_impression,
        "treatment_given": referral.treatment_given,
        "language": referral.language,
        "interpreter_language": referral.interpreter_language,
        "state": referral.state,
        "created_at": referral.created_at,
        "waited_seconds": _waited(referral),
    }


async def public(
    session: AsyncSession, referral: Referral, viewer: Viewer
) -> ReferralPublic | OpenReferralPublic:
    """What this viewer sees: a specialist deciding whether to accept (or who declined without
    accepting) sees the clinical content, not who the patient is."""
    if viewer.patient or viewer.clinic or viewer.taken_on:
        return await full(session, referral)
    return await waiting(session, referral)


async def waiting(session: AsyncSession, referral: Referral) -> OpenReferralPublic:
    [shown] = await _waiting_many(session, [referral])
    return shown


async def full(session: AsyncSession, referral: Referral) -> ReferralPublic:
    [shown] = await _full_many(session, [referral])
    return shown


async def _waiting_many(
    session: AsyncSession, referrals: Sequence[Referral]
) -> list[OpenReferralPublic]:
    places = await clinics.by_ids(session, [r.clinic_id for r in referrals])
    return [OpenReferralPublic(**_common(r, places[r.clinic_id])) for r in referrals]


async def _full_many(session: AsyncSession, referrals: Sequence[Referral]) -> list[ReferralPublic]:
    """Referrals as their clinic, patient and specialist see them, in a fixed number of queries
    however many they are: their clinics, patients, specialists and histories each in one, and
    the counter-referrals' addenda and prescriptions each in one when there are any."""
    places = await clinics.by_ids(session, [r.clinic_id for r in referrals])
    patients = await accounts_service.by_ids(session, [r.patient_account_id for r in referrals])
    doctors = await practitioners.by_ids(
        session, list({r.practitioner_id for r in referrals if r.practitioner_id is not None})
    )
    histories = await _histories(session, [r.id for r in referrals])
    returned = await _counter_referrals(session, referrals)
    shown = []
    for referral in referrals:
        patient = patients.get(referral.patient_account_id)
        doctor = doctors.get(referral.practitioner_id) if referral.practitioner_id else None
        shown.append(
            ReferralPublic(
                **_common(referral, places[referral.clinic_id]),
                clinic_id=referral.clinic_id,
                patient_account_id=referral.patient_account_id,
                patient_name=patient.display_name if patient is not None else "",
                practitioner_id=referral.practitioner_id,
                practitioner_name=doctor.display_name if doctor is not None else None,
                decline_reason=referral.decline_reason,
                answer=AnswerPublic.model_validate(referral.answer) if referral.answer else None,
                appointment_id=referral.appointment_id,
                counter_referral=returned.get(referral.id),
                closed_at=referral.closed_at,
                history=histories[referral.id],
            )
        )
    return shown


async def _histories(
    session: AsyncSession, referral_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ReferralEventPublic]]:
    return await grouped(
        session,
        select(ReferralEvent)
        .where(col(ReferralEvent.referral_id).in_(referral_ids))
        .order_by(col(ReferralEvent.at), col(ReferralEvent.id)),
        referral_ids,
        lambda event: event.referral_id,
        lambda event: ReferralEventPublic(type=event.type, state=event.state, at=event.at),
    )


async def _counter_referrals(
    session: AsyncSession, referrals: Sequence[Referral]
) -> dict[uuid.UUID, CounterReferralPublic]:
    """The counter-referrals of these referrals: each note as signed (stored with the referral
    when it was completed), with its addenda and the consult's prescriptions as they are now."""
    notes = {
        r.id: (CounterReferralNote.model_validate(r.counter_referral["note"]), r.counter_referral)
        for r in referrals
        if r.counter_referral
    }
    if not notes:
        return {}
    addenda = await records.addenda_of(session, [note.note_id for note, _ in notes.values()])
    prescribed = await prescriptions.of_consults(
        session, [note.appointment_id for note, _ in notes.values()]
    )
    return {
        referral_id: CounterReferralPublic(
            returned_at=stored["returned_at"],
            note=note,
            addenda=[
                CounterReferralAddendum(id=a.id, text=a.text, signature=a.signature)
                for a in addenda[note.note_id]
            ],
            prescriptions=prescribed[note.appointment_id],
        )
        for referral_id, (note, stored) in notes.items()
    }


async def of_clinic(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    *,
    state: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[ReferralPublic]:
    """A clinic's referrals, newest first, with how long each has waited; its staff only."""
    if not await clinics.is_staff(session, clinic_id, principal.account_id):
        raise NotFound()
    statement = select(Referral).where(col(Referral.clinic_id) == clinic_id)
    if state is not None:
        statement = statement.where(col(Referral.state) == state)
    return await _page(session, principal, statement, _full_many, cursor, limit, descending=True)


async def open_for(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[OpenReferralPublic]:
    """The referrals waiting for a specialist of the caller's specialties, oldest first."""
    doctor = await practitioners.of_account(session, principal.account_id)
    if doctor is None or not doctor.active:
        raise Forbidden(reason=WHO_ACTS["open"])
    statement = select(Referral).where(
        col(Referral.state) == ReferralState.SENT,
        col(Referral.specialty).in_(doctor.specialties),
        col(Referral.patient_account_id) != principal.account_id,  # not her own
    )
    return await _page(
        session, principal, statement, _waiting_many, cursor, limit, descending=False
    )


async def accepted_by(
    session: AsyncSession,
    principal: Principal,
    *,
    state: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[ReferralPublic]:
    """The referrals the calling specialist accepted (those they declined afterwards included),
    newest first. One declined without accepting is not theirs: it is not listed."""
    doctor = await practitioners.of_account(session, principal.account_id)
    if doctor is None or not doctor.active:
        raise Forbidden(reason=WHO_ACTS["accepted"])
    statement = select(Referral).where(col(Referral.practitioner_id) == doctor.id)
    if state is not None:
        statement = statement.where(col(Referral.state) == state)
    return await _page(session, principal, statement, _full_many, cursor, limit, descending=True)


async def of_patient(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[ReferralPublic]:
    """The caller's own referrals, newest first."""
    statement = select(Referral).where(col(Referral.patient_account_id) == principal.account_id)
    return await _page(session, principal, statement, _full_many, cursor, limit, descending=True)


async def _page(
    session: AsyncSession,
    principal: Principal,
    statement: Select[Referral],
    shown: Callable[[AsyncSession, Sequence[Referral]], Awaitable[list[T]]],
    cursor: str | None,
    limit: int | None,
    *,
    descending: bool,
) -> Page[T]:
    """A page of referrals, each read in its patient's access log, built in a fixed number of
    queries whatever its length."""
    found, next_cursor = await paginate(
        session,
        statement,
        time_column=col(Referral.created_at),
        id_column=col(Referral.id),
        cursor=cursor,
        limit=limit,
        descending=descending,
    )
    await audit.record_reads(
        session, [(r.patient_account_id, f"referral:{r.id}") for r in found], principal
    )
    return Page(items=await shown(session, found), next_cursor=next_cursor)


async def act(
    session: AsyncSession,
    principal: Principal,
    referral_id: uuid.UUID,
    action: Action,
    *,
    decline_reason: str | None = None,
    answer: Interconsultation | None = None,
    appointment_id: uuid.UUID | None = None,
) -> tuple[Referral, Viewer]:
    """Move the referral on. Repeating what the same person just did (a retry on a bad link)
    answers with the referral as it is; a referral that moved on meanwhile (another specialist
    accepted first) is a 409 saying where it stands. A scheduled referral is relinked,
    declined or withdrawn only once its consult fell through (409 otherwise)."""
    referral, viewer = await visible(session, principal, referral_id)
    if not any(may(action, actor) for actor in viewer.actors):
        raise Forbidden(reason=WHO_ACTS[action.value])
    leads_to = next_state(ReferralState(referral.state), action)
    if _already(referral, viewer, action, appointment_id):
        return referral, viewer
    if leads_to is None:
        raise ReferralNotInState(state=referral.state, action=action.value)
    if referral.state == ReferralState.SCHEDULED and action in UNTIED:
        await _check_fell_through(session, referral, action)
    changes: dict[str, Any] = {}
    if action is Action.ACCEPT:
        changes["practitioner_id"] = viewer.practitioner_id
    if action is Action.DECLINE:
        changes["decline_reason"] = decline_reason
        if referral.practitioner_id is None:  # declined without being taken on
            changes["declined_by"] = viewer.practitioner_id
    if action is Action.ANSWER:
        assert answer is not None
        changes["answer"] = await _stamped(session, referral, answer)
    if action is Action.SCHEDULE:
        assert appointment_id is not None
        await _check_consult(session, referral, appointment_id)
        changes["appointment_id"] = appointment_id
    if action is Action.COMPLETE:
        changes["counter_referral"] = await _returned(session, referral)
    try:
        async with session.begin_nested():
            moved = await _move(session, referral, leads_to, changes, principal.account_id)
    except IntegrityError as exc:
        if action is not Action.SCHEDULE:
            raise
        raise NotTheReferralsConsult() from exc  # another referral linked it meanwhile
    if not moved:
        raise ReferralNotInState(state=referral.state, action=action.value)
    taken_on = (
        viewer.practitioner_id is not None and referral.practitioner_id == viewer.practitioner_id
    )
    return referral, replace(viewer, taken_on=taken_on)


async def _check_fell_through(session: AsyncSession, referral: Referral, action: Action) -> None:
    """A scheduled referral is relinked, declined or withdrawn once its consult fell through;
    the clinic also withdraws it once the specialist who took it on has left the cooperative
    (nobody else can sign that consult's note, so it would never complete)."""
    consult = (
        await scheduling.get(session, referral.appointment_id)
        if referral.appointment_id is not None
        else None
    )
    if fell_through(consult.status if consult is not None else None):
        return
    if action is Action.WITHDRAW and referral.practitioner_id is not None:
        doctor = await practitioners.any_by_id(session, referral.practitioner_id)
        if not doctor.active:
            return
    raise ReferralConsultStillOn(action=action.value)


async def _move(
    session: AsyncSession,
    referral: Referral,
    leads_to: ReferralState,
    changes: dict[str, Any],
    actor: uuid.UUID,
) -> bool:
    """Make the change over the version read, with its event; False (nothing changed, the
    referral reloaded) when another request moved the referral first."""
    values = {**changes, "state": leads_to, "version": referral.version + 1}
    if leads_to in CLOSED:
        values["closed_at"] = clock.now()
    moved = await session.execute(
        update(Referral)
        .where(col(Referral.id) == referral.id, col(Referral.version) == referral.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(referral)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    event = _event(referral, f"referral.{leads_to}", actor)
    session.add(event)
    await notices.moved(session, referral, event)  # the clinic hears of it
    await session.flush()
    return True


async def _stamped(
    session: AsyncSession, referral: Referral, answer: Interconsultation
) -> dict[str, Any]:
    """The written answer stamped as a note is signed: the specialist's name and the licence
    covering the clinic's patients (the cédula in Mexico), the time, and the SHA-256 digest of
    the answer with that stamp (`records.rules.digest`). The database keeps it as given."""
    assert referral.practitioner_id is not None  # accepted
    clinic = await clinics.get(session, referral.clinic_id)
    assert clinic is not None
    who = await records.signer(session, referral.practitioner_id, clinic.jurisdiction)
    signature = {
        "name": who.name,
        "licence": who.licence,
        "jurisdiction": who.jurisdiction,
        "signed_at": moments.stored(clock.now()),
    }
    content = answer.model_dump()
    signature["digest"] = record_rules.digest(_answer_fields(referral, content, signature))
    return {**content, "signature": signature}


def _answer_fields(
    referral: Referral, content: dict[str, Any], signature: dict[str, Any]
) -> dict[str, Any]:
    """What a written answer's digest covers: its text, its stamp (the time as stored, UTC),
    and which referral of which patient it answers, so it verifies nowhere else."""
    stamp = {key: value for key, value in signature.items() if key != "digest"}
    return {
        **content,
        **stamp,
        "referral_id": str(referral.id),
        "patient_account_id": str(referral.patient_account_id),
    }


def answer_verifies(referral: Referral) -> bool:
    """Whether a referral's written answer still matches its digest (False when it has none)."""
    signature = (referral.answer or {}).get("signature") or {}
    if "digest" not in signature:
        return False
    assert referral.answer is not None
    content = {key: value for key, value in referral.answer.items() if key != "signature"}
    digest = record_rules.digest(_answer_fields(referral, content, signature))
    return bool(digest == signature["digest"])


def _counter_referral(note: NotePublic) -> dict[str, Any]:
    """What the referral keeps of the signed note: its clinical content, diagnoses and
    signature, not the patient's plain-language summary (the patient's own to read)."""
    assert note.signature is not None
    kept = CounterReferralNote(
        note_id=note.id,
        appointment_id=note.appointment_id,
        kind=note.kind,
        content=note.content,
        diagnoses=note.diagnoses,
        signature=note.signature,
    ).model_dump(mode="json")
    kept["signature"]["signed_at"] = moments.stored(note.signature.signed_at)
    return {"returned_at": moments.stored(clock.now()), "note": kept}


async def _returned(session: AsyncSession, referral: Referral) -> dict[str, Any]:
    """The counter-referral of a scheduled referral completed by hand: its consult held and
    its note signed, else a 409 that says which is missing."""
    appointment = (
        await scheduling.get(session, referral.appointment_id)
        if referral.appointment_id is not None  # gone: its row was deleted
        else None
    )
    if appointment is None or not held(appointment.status, appointment.start, clock.now()):
        raise ConsultNotHeld()
    note = await records.signed_note(session, appointment.id)
    if note is None:
        raise ConsultNoteNotSigned()
    return _counter_referral(note)


async def complete_on_signing(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> Referral | None:
    """After the specialist signs the note of a consult a referral was scheduled into: if the
    consult has begun or taken place (`rules.held`), the referral is completed in the same
    transaction, with the note and the consult's prescriptions as its counter-referral; the
    completed referral, or None when there was nothing to complete."""
    referral = await session.scalar(
        select(Referral).where(
            col(Referral.appointment_id) == appointment_id,
            col(Referral.state) == ReferralState.SCHEDULED,
        )
    )
    if referral is None:
        return None
    appointment = await scheduling.get(session, appointment_id)
    if appointment is None or not held(appointment.status, appointment.start, clock.now()):
        return None
    note = await records.signed_note(session, appointment_id)
    if note is None:
        return None
    changes = {"counter_referral": _counter_referral(note)}
    moved = await _move(session, referral, ReferralState.COMPLETED, changes, principal.account_id)
    return referral if moved else None


async def erase_of(session: AsyncSession, principal: Principal) -> tuple[list[str], date | None]:
    """On the patient's erasure: the referrals still open (waiting, taken on, scheduled) are
    withdrawn, so no specialist goes on processing them; every referral is kept as part of the
    clinical record NOM-004 keeps. Says what was done, and the day of the last act."""
    referrals = list(
        await session.scalars(
            select(Referral).where(col(Referral.patient_account_id) == principal.account_id)
        )
    )
    withdrawn = 0
    for referral in referrals:
        if referral.state not in CLOSED:
            withdrawn += await _move(
                session, referral, ReferralState.WITHDRAWN, {}, principal.account_id
            )
    erased = (
        ["your open referrals (withdrawn: no specialist sees them any more)"] if withdrawn else []
    )
    moments = [r.closed_at or r.created_at for r in referrals]
    return erased, clock.day_of(max(moments)) if moments else None


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The referrals of this account, as its patient sees them, for its ARCO export."""
    referrals = await session.scalars(
        select(Referral)
        .where(col(Referral.patient_account_id) == account_id)
        .order_by(col(Referral.created_at), col(Referral.id))
    )
    return [shown.model_dump(mode="json") for shown in await _full_many(session, list(referrals))]


def _already(
    referral: Referral, viewer: Viewer, action: Action, appointment_id: uuid.UUID | None
) -> bool:
    """The same change, already made: linking the consult it is linked to, or the same
    person's accept, decline, answer, completion or withdrawal."""
    starts, _actors, leads_to = TRANSITIONS[action]
    if referral.state != leads_to:
        return False
    if action is Action.SCHEDULE:
        return referral.appointment_id == appointment_id
    if referral.state in starts:
        return False
    if Actor.CLINIC in viewer.actors and action is Action.WITHDRAW:
        return True
    if action is Action.DECLINE and referral.declined_by is not None:
        return referral.declined_by == viewer.practitioner_id
    return viewer.taken_on


async def _check_consult(
    session: AsyncSession, referral: Referral, appointment_id: uuid.UUID
) -> None:
    """The consult must be the referral's (`NotTheReferralsConsult`): its note will go to the
    clinic."""
    appointment = await scheduling.get(session, appointment_id)
    linked = await session.scalar(
        select(col(Referral.id)).where(col(Referral.appointment_id) == appointment_id)
    )
    if (
        appointment is None
        or appointment.patient_account_id != referral.patient_account_id
        or appointment.dependent_id is not None  # a child's consult is not the parent's
        or appointment.clinic_id != referral.clinic_id  # booked privately: the patient's own
        or appointment.practitioner_id != referral.practitioner_id
        or appointment.status != AppointmentStatus.BOOKED
        or appointment.start <= clock.now()
        or linked is not None
    ):
        raise NotTheReferralsConsult()
