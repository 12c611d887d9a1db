"""The referral loop between a rural clinic and the cooperative's specialists."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth import require_scopes
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.webhooks import referral_event
from cooperative.kernel.principal import Principal, Scope
from telehealth.records.errors import NoLicence
from telehealth.referrals import service as referrals
from telehealth.referrals.errors import (
    ConsultNoteNotSigned,
    ConsultNotHeld,
    ReferralConsultStillOn,
    ReferralNotInState,
)
from telehealth.referrals.rules import Action
from telehealth.referrals.schemas import (
    Interconsultation,
    OpenReferralPublic,
    ReferralCreate,
    ReferralDecline,
    ReferralPublic,
    ReferralSchedule,
    StateName,
)

router = APIRouter(tags=["referrals"])

Reader = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_READ)]
Writer = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_WRITE)]
Staff = Annotated[Principal, require_scopes(Scope.PATIENTS_REGISTER)]
StateParam = Annotated[StateName | None, Query(description="Only referrals in this state.")]
ACTED = problem_responses(
    401, 403, 404, 409, 422, problems=(ReferralNotInState, ReferralConsultStillOn)
)


@router.post(
    "/v1/referrals",
    status_code=status.HTTP_201_CREATED,
    summary="Refer a patient to a specialty",
    responses=problem_responses(401, 403, 404, 422),
)
async def create(session: SessionDep, principal: Staff, data: ReferralCreate) -> ReferralPublic:
    """Clinic staff refer a patient registered with their clinic (who accepted the
    registration) to a specialty: NOM-004's referral note (reason, clinical summary,
    diagnostic impression, treatment given so far), the urgency, and the language the patient
    speaks and any interpreter they need. Every active specialist of that specialty sees it in
    `GET /v1/referrals/open`, without the patient's name, until one accepts or declines. Lab
    results and photos are added right after, to `POST /v1/referrals/{id}/attachments`; only
    the specialist who accepts sees them."""
    referral = await referrals.create(session, principal, data)
    await referral_event(session, referral)
    return await referrals.full(session, referral)


@router.get(
    "/v1/referrals/open",
    summary="Referrals waiting for your specialty",
    responses=problem_responses(400, 401, 403),
)
async def open_referrals(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[OpenReferralPublic]:
    """For a specialist: the referrals of your specialties nobody has accepted yet, oldest
    first, with how long each has waited. You see the clinical content, not the patient's
    name; you see that once you accept."""
    return await referrals.open_for(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/v1/referrals/mine",
    summary="Referrals you accepted",
    responses=problem_responses(400, 401, 403),
)
async def accepted_referrals(
    session: SessionDep,
    principal: Reader,
    state: StateParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ReferralPublic]:
    """For a specialist: the referrals you accepted (those you declined afterwards included),
    newest first. One you declined without accepting is not yours: it is not listed."""
    return await referrals.accepted_by(session, principal, state=state, cursor=cursor, limit=limit)


@router.get(
    "/v1/clinics/{clinic_id}/referrals",
    summary="A clinic's referrals",
    responses=problem_responses(400, 401, 403, 404),
)
async def clinic_referrals(
    session: SessionDep,
    principal: Staff,
    clinic_id: uuid.UUID,
    state: StateParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ReferralPublic]:
    """For the clinic's staff: its referrals, newest first, each with its state, how long it
    has waited, and the specialist's answer or counter-referral once returned (the signed
    note of the consult, its addenda, and its prescriptions as they stand now). The clinic
    sees nothing else of the consult."""
    return await referrals.of_clinic(
        session, principal, clinic_id, state=state, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/me/referrals",
    summary="Your referrals",
    responses=problem_responses(400, 401, 403),
)
async def my_referrals(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[ReferralPublic]:
    """For a patient: the referrals your clinic made for you, with the specialists' answers."""
    return await referrals.of_patient(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/v1/referrals/{referral_id}",
    summary="A referral",
    responses=problem_responses(401, 403, 404),
)
async def get_referral(
    session: SessionDep, principal: Reader, referral_id: uuid.UUID
) -> ReferralPublic | OpenReferralPublic:
    """Its patient, the referring clinic's staff and the specialist who accepted it see all of
    it, with its history; a specialist of its specialty sees a waiting referral without the
    patient's identity; anyone else gets 404."""
    referral, viewer = await referrals.visible(session, principal, referral_id)
    return await referrals.public(session, referral, viewer)


async def _acted(
    session: SessionDep,
    principal: Principal,
    referral_id: uuid.UUID,
    action: Action,
    *,
    answer: Interconsultation | None = None,
    appointment_id: uuid.UUID | None = None,
) -> ReferralPublic:
    """An action only the referral's specialist, clinic or patient takes: they see all of it."""
    referral, _viewer = await referrals.act(
        session, principal, referral_id, action, answer=answer, appointment_id=appointment_id
    )
    await referral_event(session, referral)
    return await referrals.full(session, referral)


@router.post("/v1/referrals/{referral_id}/accept", summary="Accept a referral", responses=ACTED)
async def accept(session: SessionDep, principal: Writer, referral_id: uuid.UUID) -> ReferralPublic:
    """A specialist of the referral's specialty takes it on; the first to accept has it (a
    second gets 409). Repeating your own accept answers with the referral as it is."""
    return await _acted(session, principal, referral_id, Action.ACCEPT)


@router.post("/v1/referrals/{referral_id}/decline", summary="Decline a referral", responses=ACTED)
async def decline(
    session: SessionDep, principal: Writer, referral_id: uuid.UUID, data: ReferralDecline
) -> ReferralPublic | OpenReferralPublic:
    """A specialist of the specialty (or the one who accepted it) declines, saying why: the
    clinic sees the reason and may refer again. A specialist who declines without having
    accepted sees the referral as before, without the patient's identity; a scheduled referral
    is declined only once its consult fell through (409 `referral-consult-still-on`)."""
    referral, viewer = await referrals.act(
        session, principal, referral_id, Action.DECLINE, decline_reason=data.reason
    )
    await referral_event(session, referral)
    return await referrals.public(session, referral, viewer)


@router.post(
    "/v1/referrals/{referral_id}/answer",
    summary="Answer a referral in writing",
    responses=problem_responses(401, 403, 404, 409, 422, problems=(ReferralNotInState, NoLicence)),
)
async def answer(
    session: SessionDep, principal: Writer, referral_id: uuid.UUID, data: Interconsultation
) -> ReferralPublic:
    """The specialist who accepted answers without a visit (an eConsult): the
    interconsultation note and the plan go back to the clinic, stamped with the specialist's
    name and licence (the cédula profesional, from the licence record, as a note is signed)
    and the time, and the referral is closed. A specialist without a licence in force for the
    clinic's jurisdiction cannot answer (409 `no-licence-to-sign`)."""
    return await _acted(session, principal, referral_id, Action.ANSWER, answer=data)


@router.post(
    "/v1/referrals/{referral_id}/schedule",
    summary="Link the referral's consult",
    responses=ACTED,
)
async def schedule(
    session: SessionDep, principal: Writer, referral_id: uuid.UUID, data: ReferralSchedule
) -> ReferralPublic:
    """The specialist who accepted, or the clinic, links the consult the clinic booked for the
    patient with that specialist (`POST /v1/appointments` with the clinic's id; not a consult
    the patient booked privately, nor a dependent's: its note goes to the clinic). When the
    specialist signs that consult's note, the referral is completed with it (see
    `…/complete`). If that consult is cancelled, missed or entered in error, the referral is
    linked to another consult the same way (or declined, or withdrawn); while it is still on,
    that is a 409 `referral-consult-still-on`."""
    return await _acted(
        session, principal, referral_id, Action.SCHEDULE, appointment_id=data.appointment_id
    )


@router.post(
    "/v1/referrals/{referral_id}/complete",
    summary="Complete the referral with the consult's signed note",
    responses=problem_responses(
        401, 403, 404, 409, 422, problems=(ReferralNotInState, ConsultNotHeld, ConsultNoteNotSigned)
    ),
)
async def complete(
    session: SessionDep, principal: Writer, referral_id: uuid.UUID
) -> ReferralPublic:
    """The counter-referral returns by itself: when the specialist signs the note of the
    referral's consult (`POST /v1/appointments/{id}/note/sign`) once the consult has begun or
    taken place, the referral is completed in the same request, with the signed note and the
    consult's prescriptions. This is the manual path, for the specialist who accepted, when
    that did not happen (the note was signed before the consult's start): it completes a
    scheduled referral whose consult has begun or taken place (409
    `referral-consult-not-held` otherwise) from its signed note (409 `note-not-signed` while
    there is none). No body: the counter-referral is the signed note, never a separate text.
    Repeating it answers with the referral as it is."""
    return await _acted(session, principal, referral_id, Action.COMPLETE)


@router.post("/v1/referrals/{referral_id}/withdraw", summary="Withdraw a referral", responses=ACTED)
async def withdraw(session: SessionDep, principal: Staff, referral_id: uuid.UUID) -> ReferralPublic:
    """The clinic withdraws a referral no specialist has answered yet (a scheduled one once its
    consult fell through)."""
    return await _acted(session, principal, referral_id, Action.WITHDRAW)
