"""Clinics, their staff, and the patients registered with them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.auth import AdminPrincipal, require_scopes
from app.db import SessionDep
from app.errors import language_of, problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.settings import Settings
from cooperative.kernel.principal import Principal, Scope
from telehealth.clinics import service as clinics
from telehealth.clinics.schemas import (
    REGISTRATION_PENDING,
    ClinicCreate,
    ClinicPatientPublic,
    ClinicPublic,
    PatientRegister,
    RegistrationAnswer,
    RegistrationPending,
)

router = APIRouter(prefix="/v1/clinics", tags=["clinics"])

Staff = Annotated[Principal, require_scopes(Scope.PATIENTS_REGISTER)]
Anyone = Annotated[Principal, require_scopes(Scope.ME)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a clinic (admin)",
    responses=problem_responses(401, 403, 422),
)
async def create(
    session: SessionDep, principal: AdminPrincipal, data: ClinicCreate
) -> ClinicPublic:
    """A clinic, often rural, whose staff connect their patients with the cooperative's doctors."""
    return clinics.clinic_public(await clinics.create(session, data))


@router.get("", summary="Clinics", responses=problem_responses(400, 401))
async def list_clinics(
    session: SessionDep, principal: Anyone, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[ClinicPublic]:
    """The clinics you work at; all for admins."""
    return await clinics.list_visible(session, principal, cursor=cursor, limit=limit)


@router.post(
    "/{clinic_id}/patients",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Register a patient",
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def register_patient(
    request: Request,
    session: SessionDep,
    principal: Staff,
    clinic_id: uuid.UUID,
    data: PatientRegister,
) -> RegistrationPending:
    """Register a patient by the email or phone they use, or will sign up with, and get a
    one-time code to give them in person or by phone. The answer is the same whether or not
    anyone has that contact: you learn nothing (no name, no account) until the person accepts
    with the code, and then they appear in `GET /v1/clinics/{id}/patients` and you may book for
    them. Registering many patients in a short time slows down (`429`)."""
    settings = _settings(request)
    code = await clinics.register_patient(
        session,
        principal,
        clinic_id,
        data.username,
        secret=settings.contact_secret,
        throttles=settings.clinic_registration_throttles(str(principal.account_id)),
    )
    return RegistrationPending(
        clinic_id=clinic_id, code=code, detail=REGISTRATION_PENDING.render(language_of(request))
    )


@router.get(
    "/{clinic_id}/patients",
    summary="The clinic's patients",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def patients(
    session: SessionDep,
    principal: Staff,
    clinic_id: uuid.UUID,
    name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=120,
            description="Words of the name, in any case, with or without accents "
            "(`martinez` finds Rosa Martínez).",
            examples=["rosa martinez"],
        ),
    ] = None,
    phone: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            pattern=r"^[0-9 +().-]+$",
            description="The number as written, with or without country code or the old "
            "mobile prefix; at least 4 digits; matched on its last ten.",
            examples=["951 100 0002"],
        ),
    ] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ClinicPatientPublic]:
    """The patients who accepted your clinic's registration, with the account id to book
    for them, found by `name` and `phone` (both given: both must match). For the clinic's
    staff only. Each read is in the patient's access log."""
    return await clinics.patients(
        session, principal, clinic_id, name=name, phone=phone, cursor=cursor, limit=limit
    )


@router.post(
    "/{clinic_id}/patients/accept",
    summary="Accept a clinic's registration",
    responses=problem_responses(401, 403, 404, 422),
)
async def accept_registration(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    clinic_id: uuid.UUID,
    data: RegistrationAnswer,
) -> ClinicPatientPublic:
    """With the code the clinic's staff gave you, you accept that they see your name and book
    consults for you (on your phone, or on the clinic's tablet when you sign in there). 404 if
    the clinic did not register your email or phone; 422 for a wrong or expired code (after
    five wrong tries the clinic must register you again)."""
    return await clinics.accept_registration(
        session, principal, clinic_id, data.code, secret=_settings(request).contact_secret
    )


@router.post(
    "/{clinic_id}/patients/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Decline a clinic's registration",
    responses=problem_responses(401, 403, 404, 422),
)
async def decline_registration(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    clinic_id: uuid.UUID,
    data: RegistrationAnswer,
) -> None:
    """With the code: the request is deleted; the clinic never learns who you are."""
    await clinics.decline_registration(
        session, principal, clinic_id, data.code, secret=_settings(request).contact_secret
    )


@router.post(
    "/{clinic_id}/patients/withdraw",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop a clinic booking for you",
    responses=problem_responses(401, 403, 404),
)
async def withdraw(session: SessionDep, principal: Anyone, clinic_id: uuid.UUID) -> None:
    """You take back your consent: the clinic's staff no longer see you among its patients
    nor book for you. Consults already booked stay (you may cancel them)."""
    await clinics.withdraw(session, principal, clinic_id)
