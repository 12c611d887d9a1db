"""Clinics, their staff, and the patients registered with them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.auth import AdminPrincipal, require_scopes
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.kernel.principal import Principal, Scope
from telehealth.clinics import service as clinics
from telehealth.clinics.schemas import (
    ClinicCreate,
    ClinicPatientPublic,
    ClinicPublic,
    PatientRegister,
)

router = APIRouter(prefix="/v1/clinics", tags=["clinics"])

Staff = Annotated[Principal, require_scopes(Scope.PATIENTS_REGISTER)]
Anyone = Annotated[Principal, require_scopes(Scope.ME)]


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
    return ClinicPublic.model_validate(await clinics.create(session, data), from_attributes=True)


@router.get("", summary="Clinics", responses=problem_responses(400, 401))
async def list_clinics(
    session: SessionDep, principal: Anyone, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[ClinicPublic]:
    """The clinics you work at; all for admins."""
    rows, next_cursor = await clinics.list_visible(session, principal, cursor=cursor, limit=limit)
    return Page(
        items=[ClinicPublic.model_validate(c, from_attributes=True) for c in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/{clinic_id}/patients",
    status_code=status.HTTP_201_CREATED,
    summary="Register a patient",
    responses=problem_responses(401, 403, 404, 422),
)
async def register_patient(
    session: SessionDep, principal: Staff, clinic_id: uuid.UUID, data: PatientRegister
) -> ClinicPatientPublic:
    """The clinic's staff register a patient by the email or phone they signed up with; once the
    patient accepts, they may book consults for that patient."""
    return await clinics.register_patient(session, principal, clinic_id, data.username)


@router.post(
    "/{clinic_id}/patients/accept",
    summary="Accept a clinic's registration",
    responses=problem_responses(401, 403, 404),
)
async def accept_registration(
    session: SessionDep, principal: Anyone, clinic_id: uuid.UUID
) -> ClinicPatientPublic:
    """You accept that this clinic's staff book consults for you (on your phone, or on the
    clinic's tablet when you sign in there)."""
    return await clinics.accept_registration(session, principal, clinic_id)
