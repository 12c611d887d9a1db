"""Use cases of the clinical record: the doctor's note (drafts, signing, addenda), who may read
it, the patient's consent to remote care, the encounter, and the record's part of ARCO.

Who sees a note: the patient (for a dependent, the household member who booked for them), the
treating doctor, and an admin who gives a reason; anyone else gets 404. Every read by someone
other than the patient is in the patient's access log (an admin's with their reason)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.arco import exported
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, grouped, page_async, paginate
from cooperative.kernel.principal import Principal
from cooperative.membership import service as membership_service
from telehealth.consults import service as consults
from telehealth.consults.rules import RoomWindow
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.records import rules, views
from telehealth.records.errors import (
    ConsentRequired,
    NoLicence,
    NotAConsultYet,
    NoteIncomplete,
    NoteNotSigned,
    NoteSigned,
    StaleNote,
    UnknownConsentVersion,
)
from telehealth.records.models import ClinicalNote, TelehealthConsent
from telehealth.records.schemas import (
    AddendumIn,
    AddendumPublic,
    ConsentIn,
    ConsentPublic,
    EncounterPublic,
    NoteDraft,
    NotePublic,
    SummaryPublic,
)
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.rules import HOLDING
from telehealth.scheduling.service import Appointment

Reader = Literal["patient", "doctor", "admin"]


@dataclass(frozen=True)
class Access:
    appointment: Appointment
    reader: Reader


async def _doctor_account(session: AsyncSession, appointment: Appointment) -> uuid.UUID | None:
    return await practitioners.account_of(session, appointment.practitioner_id)


async def access(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    reason: str | None = None,
    resource: str,
) -> Access:
    """Whether the caller may read this consult's record, and as whom; 404 for anyone else. An
    admin reads only with a `reason`, which the patient's access log keeps with the read."""
    appointment = await scheduling.get(session, appointment_id)
    if appointment is None:
        raise NotFound()
    reader: Reader
    if principal.account_id == appointment.patient_account_id:
        reader = "patient"
    elif principal.account_id == await _doctor_account(session, appointment):
        reader = "doctor"
    elif audit.admin_reason(principal, reason) is not None:
        reader = "admin"
    else:
        raise NotFound()
    await audit.record_access(
        session,
        [appointment.patient_account_id],
        principal,
        resource=f"{resource}:{appointment.id}",
        reason=audit.admin_reason(principal, reason) if reader == "admin" else None,
    )
    return Access(appointment, reader)


async def _treating_doctor(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> Appointment:
    """The appointment, if the caller is its doctor (anyone else: 404, admins included)."""
    appointment = await scheduling.get(session, appointment_id)
    if appointment is None or principal.account_id != await _doctor_account(session, appointment):
        raise NotFound()
    return appointment


async def _main_note(
    session: AsyncSession, appointment_id: uuid.UUID, *, fresh: bool = False
) -> ClinicalNote | None:
    statement = select(ClinicalNote).where(
        col(ClinicalNote.appointment_id) == appointment_id,
        col(ClinicalNote.addendum_to).is_(None),
    )
    if fresh:
        statement = statement.execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def _addenda(session: AsyncSession, note_id: uuid.UUID) -> list[ClinicalNote]:
    return (await _addenda_of(session, [note_id]))[note_id]


async def _addenda_of(
    session: AsyncSession, note_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ClinicalNote]]:
    """Each note's addenda, oldest first, in one statement for them all."""
    return await grouped(
        session,
        select(ClinicalNote)
        .where(col(ClinicalNote.addendum_to).in_(note_ids))
        .order_by(col(ClinicalNote.signed_at), col(ClinicalNote.id)),
        note_ids,
        lambda addendum: addendum.addendum_to,
        lambda addendum: addendum,
    )


async def _public(session: AsyncSession, note: ClinicalNote) -> NotePublic:
    return views.note_public(note, await _addenda(session, note.id))


async def save_draft(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    draft: NoteDraft,
    *,
    window: RoomWindow,
) -> NotePublic:
    """Save the treating doctor's draft over the version they last saw. Two saves over one
    version: the first wins, the second is stale (409) unless it carried the same text (a
    retry over a flaky link), which is answered with the note as saved."""
    appointment = await _treating_doctor(session, principal, appointment_id)
    if appointment.status not in HOLDING or clock.now() < appointment.start - window.opens_before:
        raise NotAConsultYet()
    content = draft.content.model_dump(mode="json")
    summary = draft.summary.model_dump(mode="json")
    note = await _main_note(session, appointment.id)
    if note is None and draft.version == 0:
        created = ClinicalNote(
            appointment_id=appointment.id,
            patient_account_id=appointment.patient_account_id,
            dependent_id=appointment.dependent_id,
            practitioner_id=appointment.practitioner_id,
            kind="interconsultation" if appointment.clinic_id else "evolution",
            content=content,
            summary=summary,
        )
        try:
            async with session.begin_nested():
                session.add(created)
            return await _public(session, created)
        except IntegrityError:  # another save created it first: judged below against theirs
            note = await _main_note(session, appointment.id, fresh=True)
    if note is None:
        raise StaleNote(sent=draft.version, current=0)
    if note.signed_at is not None:
        raise NoteSigned()
    now = clock.now()
    changed = await session.execute(
        update(ClinicalNote)
        .where(
            col(ClinicalNote.id) == note.id,
            col(ClinicalNote.version) == draft.version,
            col(ClinicalNote.signed_at).is_(None),
        )
        .values(content=content, summary=summary, version=draft.version + 1, updated_at=now)
    )
    note = await _main_note(session, appointment.id, fresh=True)
    assert note is not None
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        return await _public(session, note)
    if note.signed_at is not None:
        raise NoteSigned()
    if note.version == draft.version + 1 and (note.content, note.summary) == (content, summary):
        return await _public(session, note)  # the same save, again
    raise StaleNote(sent=draft.version, current=note.version)


@dataclass(frozen=True)
class Signer:
    """Who signs, as the licence record names them: for a note, an addendum, and a
    specialist's written answer to a referral."""

    name: str
    licence: str
    jurisdiction: str


async def signer(
    session: AsyncSession, practitioner_id: uuid.UUID, patient_jurisdiction: str
) -> Signer:
    """The doctor's name and the licence in force today that covers a patient in
    `patient_jurisdiction` (the one expiring last); `NoLicence` when none does."""
    doctor = await practitioners.any_by_id(session, practitioner_id)
    needed = practitioner_rules.licence_needed(patient_jurisdiction)
    today = clock.today()
    valid = [
        lic
        for lic in await practitioners.licences(session, doctor.id)
        if lic.jurisdiction == needed and lic.expires_on >= today
    ]
    if not valid:
        raise NoLicence(jurisdiction=needed)
    licence = max(valid, key=lambda lic: lic.expires_on)
    return Signer(doctor.display_name, licence.number, licence.jurisdiction)


async def _signature(
    session: AsyncSession, appointment: Appointment, fields: dict[str, Any]
) -> dict[str, Any]:
    """The signer's name and licence from the practitioner record, the time and the digest."""
    who = await signer(session, appointment.practitioner_id, appointment.patient_jurisdiction)
    signed_at = clock.now()
    stamp = {
        "signer_name": who.name,
        "signer_licence": who.licence,
        "signer_jurisdiction": who.jurisdiction,
        "signed_at": signed_at.isoformat(),
    }
    return {
        "signed_at": signed_at,
        "signer_name": who.name,
        "signer_licence": who.licence,
        "signer_jurisdiction": who.jurisdiction,
        "digest": rules.digest({**fields, **stamp}),
    }


def signed_fields(note: ClinicalNote) -> dict[str, Any]:
    """What a note's digest covers besides the signature stamp (see `rules.canonical`)."""
    return {
        "id": str(note.id),
        "appointment_id": str(note.appointment_id),
        "addendum_to": str(note.addendum_to) if note.addendum_to else None,
        "kind": note.kind,
        "content": note.content,
        "summary": note.summary,
    }


def verify(note: ClinicalNote) -> bool:
    """Whether a signed note's digest matches its content and stamp."""
    if note.signed_at is None or note.digest is None:
        return False
    stamp = {
        "signer_name": note.signer_name,
        "signer_licence": note.signer_licence,
        "signer_jurisdiction": note.signer_jurisdiction,
        "signed_at": note.signed_at.isoformat(),
    }
    return rules.digest({**signed_fields(note), **stamp}) == note.digest


async def sign(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, version: int
) -> NotePublic:
    """Sign the version the doctor read: complete, unchanged since, not signed yet."""
    appointment = await _treating_doctor(session, principal, appointment_id)
    note = await _main_note(session, appointment.id)
    if note is None:
        raise NotFound()
    if note.signed_at is not None:
        raise NoteSigned()
    missing = rules.missing_for_signing(note.content, note.summary)
    if missing:
        raise NoteIncomplete(extensions={"missing": missing})
    stamp = await _signature(session, appointment, signed_fields(note))
    changed = await session.execute(
        update(ClinicalNote)
        .where(
            col(ClinicalNote.id) == note.id,
            col(ClinicalNote.version) == version,
            col(ClinicalNote.signed_at).is_(None),
        )
        .values(**stamp)
    )
    note = await _main_note(session, appointment.id, fresh=True)
    assert note is not None
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        if note.signed_at is not None:
            raise NoteSigned()
        raise StaleNote(sent=version, current=note.version)
    return await _public(session, note)


async def add_addendum(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, data: AddendumIn
) -> NotePublic:
    """A correction or addition to the signed note, signed at once the same way."""
    appointment = await _treating_doctor(session, principal, appointment_id)
    note = await _main_note(session, appointment.id)
    if note is None:
        raise NotFound()
    if note.signed_at is None:
        raise NoteNotSigned()
    addendum = ClinicalNote(
        appointment_id=appointment.id,
        addendum_to=note.id,
        patient_account_id=note.patient_account_id,
        dependent_id=note.dependent_id,
        practitioner_id=note.practitioner_id,
        kind="addendum",
        content={"text": data.text},
        summary=data.summary.model_dump(mode="json") if data.summary else {},
    )
    for name, value in (await _signature(session, appointment, signed_fields(addendum))).items():
        setattr(addendum, name, value)
    session.add(addendum)
    await session.flush()
    return await _public(session, note)


async def read_note(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, reason: str | None
) -> NotePublic:
    """The whole note: the doctor's draft or signed note; for the patient and an admin, only
    once signed (a draft is the doctor's until then)."""
    seen = await access(session, principal, appointment_id, reason=reason, resource="note")
    note = await _main_note(session, appointment_id)
    if note is None or (note.signed_at is None and seen.reader != "doctor"):
        raise NotFound()
    return await _public(session, note)


async def read_summary(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, reason: str | None
) -> SummaryPublic:
    seen = await access(session, principal, appointment_id, reason=reason, resource="summary")
    note = await _main_note(session, seen.appointment.id)
    if note is None or note.signed_at is None:
        raise NotFound()
    return views.summary_public(note, await _addenda(session, note.id))


async def my_records(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[SummaryPublic]:
    """The caller's signed notes (their dependents' included), newest first."""
    rows = await paginate(
        session,
        select(ClinicalNote).where(
            col(ClinicalNote.patient_account_id) == principal.account_id,
            col(ClinicalNote.addendum_to).is_(None),
            col(ClinicalNote.signed_at).is_not(None),
        ),
        time_column=col(ClinicalNote.created_at),
        id_column=col(ClinicalNote.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )

    notes, next_cursor = rows
    addenda = await _addenda_of(session, [note.id for note in notes])
    return Page(
        items=[views.summary_public(note, addenda[note.id]) for note in notes],
        next_cursor=next_cursor,
    )


# what the referral loop returns to the referring clinic


async def signed_note(session: AsyncSession, appointment_id: uuid.UUID) -> NotePublic | None:
    """The consult's note if it is signed (with its addenda), else None. No access check and
    no access log: the caller (the referral loop) decides who sees it and logs the read."""
    note = await _main_note(session, appointment_id)
    if note is None or note.signed_at is None:
        return None
    return await _public(session, note)


async def addenda_of(
    session: AsyncSession, note_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AddendumPublic]]:
    """The signed addenda of several notes in one query, each note's in the order signed."""
    found = await _addenda_of(session, note_ids)
    return {
        i: [shown for a in notes if (shown := views.addendum_public(a)) is not None]
        for i, notes in found.items()
    }


# consent to be seen remotely


async def give_consent(
    session: AsyncSession, principal: Principal, data: ConsentIn
) -> ConsentPublic:
    """Consent (again: the same consent) to this version of the text, for oneself or for a
    dependent of one's household."""
    text = rules.consent_texts().get(data.version)
    if text is None:
        raise UnknownConsentVersion(version=data.version)
    subject = principal.account_id
    if data.dependent_id is not None:
        covering = await membership_service.household_of_dependent(session, data.dependent_id)
        member = await membership_service.member_of(session, principal.account_id)
        household = await membership_service.household_of(session, member.id) if member else None
        if covering is None or covering != household:
            raise NotFound()
        subject = data.dependent_id
    existing = await _consent(session, subject, data.version)
    if existing is None:
        consent = TelehealthConsent(
            subject_id=subject,
            patient_account_id=principal.account_id,
            dependent_id=data.dependent_id,
            version=data.version,
            language=data.language,
            text_digest=rules.text_digest(text[data.language]),
            given_by=principal.account_id,
        )
        try:
            async with session.begin_nested():
                session.add(consent)
            existing = consent
        except IntegrityError:  # given at the same moment by another request
            existing = await _consent(session, subject, data.version)
            assert existing is not None
    return views.consent_public(existing)


async def _consent(
    session: AsyncSession, subject: uuid.UUID, version: int | None = None
) -> TelehealthConsent | None:
    statement = select(TelehealthConsent).where(col(TelehealthConsent.subject_id) == subject)
    if version is not None:
        statement = statement.where(col(TelehealthConsent.version) == version)
    statement = statement.order_by(col(TelehealthConsent.version).desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def my_consents(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[ConsentPublic]:
    rows = await paginate(
        session,
        select(TelehealthConsent).where(
            col(TelehealthConsent.patient_account_id) == principal.account_id
        ),
        time_column=col(TelehealthConsent.given_at),
        id_column=col(TelehealthConsent.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )

    async def public(consent: TelehealthConsent) -> ConsentPublic:
        return views.consent_public(consent)

    return await page_async(rows, public)


async def require_consent(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> None:
    """The patient's side joins a consult once the patient (or, for a dependent, the member
    who booked for them) consented to the current version of the text; anyone else's join is
    not this rule's business (the consult decides who may join)."""
    appointment = await scheduling.get(session, appointment_id)
    if appointment is None or appointment.patient_account_id != principal.account_id:
        return
    version = rules.current_consent_version()
    subject = appointment.dependent_id or appointment.patient_account_id
    if await _consent(session, subject, version) is None:
        dependent = appointment.dependent_id
        raise ConsentRequired(
            version=version,
            extensions={
                "version": version,
                "dependent_id": str(dependent) if dependent is not None else None,
                "dependent_name": (
                    await membership_service.dependent_name(session, dependent)
                    if dependent is not None
                    else None
                ),
            },
        )


async def consent_of(session: AsyncSession, appointment: Appointment) -> TelehealthConsent | None:
    """The latest consent to remote care of the consult's patient (or dependent)."""
    return await _consent(session, appointment.dependent_id or appointment.patient_account_id)


# the encounter


async def encounter(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, reason: str | None
) -> EncounterPublic:
    """What the room saw of the consult: modality over time, who was present and how long,
    whether the patient had consented to remote care, and whether the note is signed."""
    seen = await access(session, principal, appointment_id, reason=reason, resource="encounter")
    appointment = seen.appointment
    found = rules.encounter(
        rules.Event(at=e.at, kind=e.kind, account_id=e.account_id, value=e.value)
        for e in await consults.events(session, appointment.id)
    )
    roles = await consults.roles_in(session, appointment)
    note = await _main_note(session, appointment.id)
    consent = await consent_of(session, appointment)
    return views.encounter_public(
        appointment.id,
        found,
        roles,
        now=clock.now(),
        consent=views.consent_public(consent) if consent is not None else None,
        note=None if note is None else ("signed" if note.signed_at else "draft"),
    )


# ARCO


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    """The clinical record of this account (its dependents' included): signed notes with their
    addenda, and the consents to remote care."""
    notes = await session.execute(
        select(ClinicalNote)
        .where(
            col(ClinicalNote.patient_account_id) == account_id,
            col(ClinicalNote.signed_at).is_not(None),
        )
        .order_by(col(ClinicalNote.created_at))
    )
    consents = await session.execute(
        select(TelehealthConsent).where(col(TelehealthConsent.patient_account_id) == account_id)
    )
    return {
        "notes": [exported(n) for n in notes.scalars()],
        "telehealth_consents": [exported(c) for c in consents.scalars()],
    }


async def last_act(session: AsyncSession, account_id: uuid.UUID) -> date | None:
    """The day of the last act of this account's clinical record (a signature or a consent)."""
    signed = await session.execute(
        select(col(ClinicalNote.signed_at)).where(
            col(ClinicalNote.patient_account_id) == account_id,
            col(ClinicalNote.signed_at).is_not(None),
        )
    )
    consented = await session.execute(
        select(col(TelehealthConsent.given_at)).where(
            col(TelehealthConsent.patient_account_id) == account_id
        )
    )
    moments: list[datetime] = [m for m in [*signed.scalars(), *consented.scalars()] if m]
    return clock.day_of(max(moments)) if moments else None


async def erase_of(session: AsyncSession, account_id: uuid.UUID) -> tuple[list[str], date | None]:
    """Erase what NOM-004 does not keep (unsigned drafts: not yet part of the record) and say
    until when the rest is kept: five years from the record's last act."""
    until = await last_act(session, account_id)
    drafts = await session.execute(
        delete(ClinicalNote).where(
            col(ClinicalNote.patient_account_id) == account_id,
            col(ClinicalNote.signed_at).is_(None),
        )
    )
    erased = ["unsigned drafts of clinical notes"] if drafts.rowcount else []  # type: ignore[attr-defined]
    return erased, rules.kept_until(until) if until is not None else None
