"""The clinical record: a consult's encounter, the doctor's signed note and the patient's
summary, the patient's consent to be seen remotely, and the CIE-10 list notes are coded from."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.auth import require_scopes
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.reasons import ReasonParam
from app.settings import Settings
from cooperative.kernel.principal import Principal, Scope
from telehealth.records import service as records
from telehealth.records import views
from telehealth.records.schemas import (
    AddendumIn,
    CodePublic,
    ConsentIn,
    ConsentPublic,
    ConsentTextPublic,
    EncounterPublic,
    Language,
    NoteDraft,
    NotePublic,
    SignIn,
    SummaryPublic,
)
from telehealth.referrals import service as referrals

router = APIRouter(tags=["records"])

Reader = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_READ)]
Writer = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_WRITE)]
Anyone = Annotated[Principal, require_scopes(Scope.ME)]
N = "/v1/appointments/{appointment_id}/note"


@router.get(
    "/v1/appointments/{appointment_id}/encounter",
    summary="What happened in the consult: modality, who was present, consent",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def encounter(
    session: SessionDep, principal: Reader, appointment_id: uuid.UUID, reason: ReasonParam = None
) -> EncounterPublic:
    """The encounter as the consult room saw it: the modality used (`video`, `audio_only`,
    `relayed`, or `switched` between them, with each stretch's times), who was present and for
    how long, whether the patient (or their guardian) had consented to be seen remotely, and
    whether the note is written and signed. For the patient and the treating doctor (an admin
    with a `reason`); the read is in the patient's access log when it is not theirs."""
    return await records.encounter(session, principal, appointment_id, reason)


@router.put(
    N,
    summary="Save the note's draft",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def save_note(
    request: Request,
    session: SessionDep,
    principal: Writer,
    appointment_id: uuid.UUID,
    data: NoteDraft,
) -> NotePublic:
    """The treating doctor saves the note as they type: subjective (reason, current illness),
    objective (findings, vital signs in the units their names say), assessment (CIE-10 codes
    from `GET /v1/records/cie10` and free text), plan (treatment, indications, follow-up), and
    the patient's plain-language summary. Send the `version` you last read (0 for the first
    save): a save over a newer version is refused (409 `stale-note`); a retry of a save that
    went through gets the note back. A signed note no longer changes (409 `note-signed`)."""
    settings: Settings = request.app.state.settings
    return await records.save_draft(
        session, principal, appointment_id, data, window=settings.consult_window
    )


@router.post(
    f"{N}/sign",
    summary="Sign the note",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def sign_note(
    session: SessionDep, principal: Writer, appointment_id: uuid.UUID, data: SignIn
) -> NotePublic:
    """Sign the version you read: the note is stamped with your name and cédula (or the licence
    for the patient's jurisdiction) from your practitioner record, the time, and the SHA-256 of
    its canonical content. From then on the database refuses any change to it; corrections are
    addenda. A note lacking a reason, a diagnosis, a plan or the patient's summary is refused
    (422, `missing` lists what).

    When the consult is the one a clinic's referral was scheduled into, and it has begun or
    taken place, signing also completes the referral: the signed note and the consult's
    prescriptions go back to the clinic as the counter-referral (`referral.completed`)."""
    note = await records.sign(session, principal, appointment_id, data.version)
    await referrals.complete_on_signing(session, principal, appointment_id)
    return note


@router.post(
    f"{N}/addenda",
    summary="Add a signed addendum to the note",
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_addendum(
    session: SessionDep, principal: Writer, appointment_id: uuid.UUID, data: AddendumIn
) -> NotePublic:
    """A correction or addition to a signed note, signed at once the same way (with a new
    summary for the patient if it changes what they should know)."""
    return await records.add_addendum(session, principal, appointment_id, data)


@router.get(N, summary="Read the note", responses=problem_responses(400, 401, 403, 404, 422))
async def read_note(
    session: SessionDep, principal: Reader, appointment_id: uuid.UUID, reason: ReasonParam = None
) -> NotePublic:
    """The whole note with its addenda: for the treating doctor (the draft too), the patient
    (once signed) and an admin with a `reason`. Nobody else (404). A read by anyone but the
    patient is in the patient's access log."""
    return await records.read_note(session, principal, appointment_id, reason)


@router.get(
    f"{N}/summary",
    summary="The patient's summary of the consult",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def read_summary(
    session: SessionDep, principal: Reader, appointment_id: uuid.UUID, reason: ReasonParam = None
) -> SummaryPublic:
    """What the doctor wrote for the patient, in plain words and their language: what was
    found, what to do, when to come back (with the addenda's updates)."""
    return await records.read_summary(session, principal, appointment_id, reason)


@router.get(
    "/v1/me/records",
    summary="My clinical record",
    responses=problem_responses(400, 401, 403),
)
async def my_records(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[SummaryPublic]:
    """Your signed consult notes (and your dependents'), newest first, each with its summary;
    the whole note of each is at `GET /v1/appointments/{id}/note`."""
    return await records.my_records(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/v1/records/cie10",
    summary="The CIE-10 codes a note may carry",
    responses=problem_responses(400, 401, 403),
)
async def cie10(
    principal: Anyone,
    q: Annotated[str, Query(max_length=100, description="Words of a description, or a code.")] = "",
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[CodePublic]:
    """Tequio's CIE-10 list (a subset of common codes, with the Spanish descriptions of the
    WHO/PAHO edition), searched by code or by words (accents ignored)."""
    return views.codes(q, cursor=cursor, limit=limit)


@router.get(
    "/v1/records/consent",
    summary="The consent to be seen remotely",
    responses=problem_responses(401, 403, 422),
)
async def consent_text(principal: Anyone, language: Language = "es") -> ConsentTextPublic:
    """The current text of the consent to be seen remotely, in Spanish or English, with its
    version: give consent to that version with `POST /v1/me/telehealth-consents`."""
    return views.consent_text(language)


@router.post(
    "/v1/me/telehealth-consents",
    summary="Consent to be seen remotely",
    responses=problem_responses(401, 403, 404, 422),
)
async def give_consent(session: SessionDep, principal: Anyone, data: ConsentIn) -> ConsentPublic:
    """Consent, once per version of the text, in the language you read it in; for a dependent
    of your household, name them in `dependent_id`. Giving it again changes nothing. The
    encounter of each consult shows whether the patient had consented."""
    return await records.give_consent(session, principal, data)


@router.get(
    "/v1/me/telehealth-consents",
    summary="My consents to be seen remotely",
    responses=problem_responses(400, 401, 403),
)
async def my_consents(
    session: SessionDep, principal: Anyone, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[ConsentPublic]:
    """The consents you gave, for yourself and your dependents, newest first."""
    return await records.my_consents(session, principal, cursor=cursor, limit=limit)
