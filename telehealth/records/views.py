"""The record's rows as the API shows them."""

import uuid
from datetime import datetime

from cooperative.kernel.pagination import Page, clamp_limit
from telehealth.records import rules
from telehealth.records.models import ClinicalNote, TelehealthConsent
from telehealth.records.schemas import (
    AddendumPublic,
    CodePublic,
    ConsentPublic,
    ConsentTextPublic,
    DiagnosisPublic,
    EncounterPublic,
    Language,
    ModalityPublic,
    NoteContent,
    NotePublic,
    PatientSummary,
    PresencePublic,
    SignaturePublic,
    SummaryPublic,
)


def signature_public(note: ClinicalNote) -> SignaturePublic | None:
    if note.signed_at is None:
        return None
    return SignaturePublic(
        signed_at=note.signed_at,
        name=note.signer_name or "",
        licence=note.signer_licence or "",
        jurisdiction=note.signer_jurisdiction or "",
        digest=note.digest or "",
    )


def _summary(stored: dict[str, object]) -> PatientSummary | None:
    return PatientSummary.model_validate(stored) if stored else None


def note_public(note: ClinicalNote, addenda: list[ClinicalNote]) -> NotePublic:
    content = NoteContent.model_validate(note.content)
    codes = rules.cie10()
    signature = signature_public(note)
    return NotePublic(
        id=note.id,
        appointment_id=note.appointment_id,
        kind=note.kind,
        version=note.version,
        status="signed" if signature else "draft",
        content=content,
        diagnoses=[
            DiagnosisPublic(code=d.code, description=codes.get(d.code, ""), note=d.note)
            for d in content.assessment.diagnoses
        ],
        summary=PatientSummary.model_validate(note.summary),
        updated_at=note.updated_at,
        signature=signature,
        addenda=[shown for a in addenda if (shown := addendum_public(a)) is not None],
    )


def addendum_public(addendum: ClinicalNote) -> AddendumPublic | None:
    """A signed addendum as shown (an unsigned one never exists; None all the same)."""
    signature = signature_public(addendum)
    if signature is None:
        return None
    return AddendumPublic(
        id=addendum.id,
        text=str(addendum.content.get("text", "")),
        summary=_summary(addendum.summary),
        signature=signature,
    )


def summary_public(note: ClinicalNote, addenda: list[ClinicalNote]) -> SummaryPublic:
    assert note.signed_at is not None
    return SummaryPublic(
        note_id=note.id,
        appointment_id=note.appointment_id,
        dependent_id=note.dependent_id,
        doctor=note.signer_name or "",
        signed_at=note.signed_at,
        summary=PatientSummary.model_validate(note.summary),
        addenda=[s for a in addenda if (s := _summary(a.summary)) is not None],
    )


def consent_public(consent: TelehealthConsent) -> ConsentPublic:
    return ConsentPublic(
        id=consent.id,
        version=consent.version,
        language=consent.language,
        dependent_id=consent.dependent_id,
        given_at=consent.given_at,
    )


def encounter_public(
    appointment_id: uuid.UUID,
    found: rules.Encounter,
    roles: dict[uuid.UUID, str],
    *,
    now: datetime,
    consent: ConsentPublic | None,
    note: str | None,
) -> EncounterPublic:
    present = [
        PresencePublic(
            account_id=account_id,
            role=roles.get(account_id, "former participant"),
            seconds=found.seconds(account_id, now),
            stays=stays,
        )
        for account_id, stays in found.stays.items()
    ]
    return EncounterPublic(
        appointment_id=appointment_id,
        took_place=bool(found.modalities),
        modality=found.modality,
        modalities=[
            ModalityPublic(modality=kind, start=start, end=end)
            for kind, start, end in found.modalities
        ],
        present=present,
        consent=consent,
        note_status=note or "none",
    )


def codes(words: str, *, cursor: str | None, limit: int | None) -> Page[CodePublic]:
    """A page of Tequio's CIE-10 list matching `words` (a code or words of a description),
    in code order; the cursor is the last code shown."""
    found = [c for c in rules.search_codes(words) if cursor is None or c[0] > cursor]
    size = clamp_limit(limit)
    shown = found[:size]
    return Page(
        items=[CodePublic(code=code, description=text) for code, text in shown],
        next_cursor=shown[-1][0] if len(found) > size else None,
    )


def consent_text(language: Language) -> ConsentTextPublic:
    """The current version of the consent to be seen remotely, in `language`."""
    version = rules.current_consent_version()
    text = rules.consent_texts()[version][language]
    return ConsentTextPublic(
        version=version, language=language, text=text, digest=rules.text_digest(text)
    )
