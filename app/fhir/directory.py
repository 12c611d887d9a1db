"""FHIR views of the directory: the practitioners, their roles and schedules, the clinics."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.auth import require_scopes
from app.context import TodayDep
from app.db import SessionDep
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Principal
from telehealth.clinics import service as clinics
from telehealth.practitioners import service as practitioners

from . import resources
from .bundles import FhirResponse, base_url, resource_response, searchset
from .params import SEARCH, CountParam, CursorParam, fhir_responses
from .scopes import RESOURCE_SCOPES

router = APIRouter(prefix="/fhir/R4", tags=["fhir"], default_response_class=FhirResponse)

Directory = Annotated[Principal, require_scopes(RESOURCE_SCOPES["Practitioner"])]
Clinics = Annotated[Principal, require_scopes(RESOURCE_SCOPES["Organization"])]
READ = fhir_responses(401, 403, 404, 422)
FOUND = fhir_responses(400, 401, 403, 422, what=SEARCH)


@router.get("/Practitioner", summary="FHIR: search Practitioner", responses=FOUND)
async def search_practitioners(
    request: Request,
    session: SessionDep,
    principal: Directory,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """The cooperative's doctors: name, languages (`communication`, BCP 47: `es`, `nah`,
    `mix`…) and licences (`qualification`: the Mexican cédula profesional and US state
    licences, each with its jurisdiction and expiry)."""
    found = await practitioners.list_active(session, cursor=cursor, limit=count)
    return searchset(
        request,
        "Practitioner",
        [resources.practitioner(doctor) for doctor in found.items],
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )


@router.get("/Practitioner/{practitioner_id}", summary="FHIR: read Practitioner", responses=READ)
async def read_practitioner(
    session: SessionDep, principal: Directory, practitioner_id: uuid.UUID
) -> Response:
    """A doctor, as in `GET /v1/practitioners/{id}`."""
    doctor = await practitioners.get(session, practitioner_id)
    return resource_response(resources.practitioner(await practitioners.public(session, doctor)))


@router.get("/PractitionerRole", summary="FHIR: search PractitionerRole", responses=FOUND)
async def search_roles(
    request: Request,
    session: SessionDep,
    principal: Directory,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Each doctor's role (same id as the Practitioner): specialties and languages."""
    found = await practitioners.list_active(session, cursor=cursor, limit=count)
    return searchset(
        request,
        "PractitionerRole",
        [resources.practitioner_role(doctor) for doctor in found.items],
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )


@router.get("/PractitionerRole/{role_id}", summary="FHIR: read PractitionerRole", responses=READ)
async def read_role(session: SessionDep, principal: Directory, role_id: uuid.UUID) -> Response:
    """A doctor's role: specialties, languages, the telehealth location."""
    doctor = await practitioners.get(session, role_id)
    return resource_response(
        resources.practitioner_role(await practitioners.public(session, doctor))
    )


@router.get("/Schedule", summary="FHIR: search Schedule", responses=FOUND)
async def search_schedules(
    request: Request,
    session: SessionDep,
    principal: Directory,
    today: TodayDep,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """One schedule per doctor (same id), its slots are `Slot?schedule=…`'s."""
    found = await practitioners.list_active(session, cursor=cursor, limit=count)
    return searchset(
        request,
        "Schedule",
        [resources.schedule(doctor, today) for doctor in found.items],
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )


@router.get("/Schedule/{schedule_id}", summary="FHIR: read Schedule", responses=READ)
async def read_schedule(
    session: SessionDep, principal: Directory, today: TodayDep, schedule_id: uuid.UUID
) -> Response:
    """A doctor's schedule: specialties, planning horizon."""
    doctor = await practitioners.get(session, schedule_id)
    return resource_response(resources.schedule(await practitioners.public(session, doctor), today))


@router.get("/Organization", summary="FHIR: search Organization", responses=FOUND)
async def search_organizations(
    request: Request,
    session: SessionDep,
    principal: Clinics,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """The clinics you work at (all for admins), as in `GET /v1/clinics`."""
    found = await clinics.list_visible(session, principal, cursor=cursor, limit=count)
    return searchset(
        request,
        "Organization",
        [resources.organization(clinic) for clinic in found.items],
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )


@router.get("/Organization/{clinic_id}", summary="FHIR: read Organization", responses=READ)
async def read_organization(
    session: SessionDep, principal: Clinics, clinic_id: uuid.UUID
) -> Response:
    """A clinic you work at (404 for anyone else)."""
    clinic = clinics.clinic_public(await clinics.visible(session, principal, clinic_id))
    return resource_response(resources.organization(clinic))


@router.get("/Location", summary="FHIR: search Location", responses=FOUND)
async def search_locations(
    request: Request,
    session: SessionDep,
    principal: Clinics,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """The clinics you work at, and first the virtual location where consults take place
    (`Location/telehealth`)."""
    found = await clinics.list_visible(session, principal, cursor=cursor, limit=count)
    places = [resources.location(clinic) for clinic in found.items]
    if cursor is None:
        places.insert(0, resources.telehealth_location(base_url(request)))
    return searchset(
        request, "Location", places, next_cursor=found.next_cursor, first_page=cursor is None
    )


@router.get("/Location/{location_id}", summary="FHIR: read Location", responses=READ)
async def read_location(
    request: Request, session: SessionDep, principal: Clinics, location_id: str
) -> Response:
    """`telehealth`, or a clinic you work at (404 for anyone else)."""
    if location_id == resources.TELEHEALTH:
        return resource_response(resources.telehealth_location(base_url(request)))
    clinic = await clinics.visible(session, principal, _uuid(location_id))
    return resource_response(resources.location(clinics.clinic_public(clinic)))


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise NotFound() from exc
