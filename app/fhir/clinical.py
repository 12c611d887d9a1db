"""FHIR views of health data: appointments, patients, encounters, referrals, prescriptions and
attachments. Each is read through the same domain call as its REST twin, so the same callers
see it (404 for anyone else) and the same reads go into the patient's access log."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.auth import require_scopes
from app.db import SessionDep
from app.errors import InvalidParameter
from cooperative.accounts import service as accounts
from cooperative.audit import service as audit
from cooperative.kernel.errors import NotFound, Text
from cooperative.kernel.principal import Principal
from cooperative.kernel.types import sane_moment
from telehealth.attachments import service as attachments
from telehealth.clinics import service as clinics
from telehealth.practitioners import service as practitioners
from telehealth.prescriptions import service as prescriptions
from telehealth.prescriptions import views as prescription_views
from telehealth.records import service as records
from telehealth.referrals import service as referrals
from telehealth.scheduling import service as scheduling
from telehealth.scheduling import views as scheduling_views
from telehealth.scheduling.rules import AppointmentStatus

from . import resources
from .bundles import PREFIX, FhirResponse, resource_response, searchset
from .params import SEARCH, CountParam, CursorParam, fhir_responses
from .scopes import RESOURCE_SCOPES

router = APIRouter(prefix=PREFIX, tags=["fhir"], default_response_class=FhirResponse)

Reader = Annotated[Principal, require_scopes(RESOURCE_SCOPES["Appointment"])]
READ = fhir_responses(401, 403, 404, 422)
FOUND = fhir_responses(400, 401, 403, 422, what=SEARCH)
_DATE = Text(
    "give `ge` and `lt` instants with their UTC offset",
    "indique instantes `ge` y `lt` con su desfase UTC",
)


def _public_url(request: Request) -> str:
    url: str = request.app.state.settings.public_url
    return url


def _range(bounds: list[str]) -> tuple[datetime | None, datetime | None]:
    after: datetime | None = None
    before: datetime | None = None
    try:
        for bound in bounds:
            moment = sane_moment(datetime.fromisoformat(bound[2:].replace("Z", "+00:00")))
            if bound.startswith("ge"):
                after = moment
            elif bound.startswith("lt"):
                before = moment
            else:
                raise ValueError(bound)
    except (ValueError, TypeError) as exc:
        raise InvalidParameter(name="date", reason=_DATE) from exc
    return after, before


@router.get("/Appointment", summary="FHIR: search Appointment", responses=FOUND)
async def search_appointments(
    request: Request,
    session: SessionDep,
    principal: Reader,
    date: Annotated[list[str] | None, Query(description="`ge…` / `lt…` instants.")] = None,
    status: AppointmentStatus | None = None,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Yours as patient or booker, your schedule as a doctor, your clinic's as its staff, as
    `GET /v1/appointments`; each read is in the patient's access log."""
    after, before = _range(date or [])
    found = await scheduling.list_visible(
        session,
        principal,
        status=status,
        starts_after=after,
        starts_before=before,
        cursor=cursor,
        limit=count,
    )
    return searchset(
        request,
        "Appointment",
        [resources.appointment(item) for item in found.items],
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )


@router.get("/Appointment/{appointment_id}", summary="FHIR: read Appointment", responses=READ)
async def read_appointment(
    session: SessionDep, principal: Reader, appointment_id: uuid.UUID
) -> Response:
    """One you take part in (404 for anyone else's): patient, doctor, the clinic (a Location)
    and the interpreter with the language needed."""
    appointment = await scheduling.visible(session, principal, appointment_id)
    found = await scheduling_views.appointment_public(session, principal, appointment)
    return resource_response(resources.appointment(found))


async def _sees_patient(session: SessionDep, principal: Principal, patient_id: uuid.UUID) -> bool:
    """As the REST API shows a patient: to themself, to the staff of a clinic they are
    registered with, and to a doctor they have a consult with."""
    if principal.account_id == patient_id:
        return True
    for clinic_id in await clinics.staff_clinics(session, principal.account_id):
        if await clinics.is_registered(session, clinic_id, patient_id):
            return True
    doctor = await practitioners.of_account(session, principal.account_id)
    if doctor is None:
        return False
    for appointment_id in await scheduling.of_patient(session, patient_id):
        appointment = await scheduling.get(session, appointment_id)
        if appointment is not None and appointment.practitioner_id == doctor.id:
            return True
    return False


async def _patient(
    session: SessionDep, principal: Principal, patient_id: uuid.UUID
) -> resources.Json:
    account = await accounts.get(session, patient_id)
    if account is None or not await _sees_patient(session, principal, patient_id):
        raise NotFound()
    await audit.record_access(session, [patient_id], principal, resource=f"patient:{patient_id}")
    return resources.patient(account.id, account.display_name)


@router.get("/Patient", summary="FHIR: search Patient", responses=FOUND)
async def search_patients(
    request: Request,
    session: SessionDep,
    principal: Reader,
    id_: Annotated[uuid.UUID | None, Query(alias="_id")] = None,
) -> Response:
    """`_id=`: that patient if you may see them (else an empty Bundle); without it, yourself."""
    try:
        found = [await _patient(session, principal, id_ or principal.account_id)]
    except NotFound:
        found = []
    return searchset(request, "Patient", found, next_cursor=None, first_page=True)


@router.get("/Patient/{patient_id}", summary="FHIR: read Patient", responses=READ)
async def read_patient(session: SessionDep, principal: Reader, patient_id: uuid.UUID) -> Response:
    """Yourself; a patient registered with your clinic; a patient of your consults. 404 for
    anyone else. The read is in the patient's access log."""
    return resource_response(await _patient(session, principal, patient_id))


@router.get("/Encounter/{encounter_id}", summary="FHIR: read Encounter", responses=READ)
async def read_encounter(
    session: SessionDep, principal: Reader, encounter_id: uuid.UUID
) -> Response:
    """A consult's encounter (same id as its Appointment): class `VR`, the modality used. For
    the patient and the treating doctor, as `GET /v1/appointments/{id}/encounter`."""
    found = await records.encounter(session, principal, encounter_id, None)
    return resource_response(resources.encounter(found))


@router.get("/Encounter", summary="FHIR: search Encounter", responses=FOUND)
async def search_encounters(
    request: Request,
    session: SessionDep,
    principal: Reader,
    appointment: Annotated[uuid.UUID | None, Query()] = None,
    id_: Annotated[uuid.UUID | None, Query(alias="_id")] = None,
) -> Response:
    """By `appointment` (or `_id`, the same id): the encounter if you may see it, else none."""
    wanted = appointment or id_
    found = []
    if wanted is not None:
        try:
            found = [resources.encounter(await records.encounter(session, principal, wanted, None))]
        except NotFound:
            found = []
    return searchset(request, "Encounter", found, next_cursor=None, first_page=True)


@router.get("/ServiceRequest/{referral_id}", summary="FHIR: read ServiceRequest", responses=READ)
async def read_referral(session: SessionDep, principal: Reader, referral_id: uuid.UUID) -> Response:
    """A referral, as `GET /v1/referrals/{id}` shows it to you (404 for anyone else)."""
    referral, viewer = await referrals.visible(session, principal, referral_id)
    return resource_response(
        resources.service_request(await referrals.public(session, referral, viewer))
    )


@router.get("/ServiceRequest", summary="FHIR: search ServiceRequest", responses=FOUND)
async def search_referrals(
    request: Request,
    session: SessionDep,
    principal: Reader,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Your referrals as a patient, newest first (`GET /v1/me/referrals`)."""
    found = await referrals.of_patient(session, principal, cursor=cursor, limit=count)
    return searchset(
        request,
        "ServiceRequest",
        [resources.service_request(item) for item in found.items],
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )


@router.get(
    "/MedicationRequest/{prescription_id}", summary="FHIR: read MedicationRequest", responses=READ
)
async def read_prescription(
    request: Request, session: SessionDep, principal: Reader, prescription_id: uuid.UUID
) -> Response:
    """A prescription, for its patient and its doctor (404 for anyone else)."""
    prescription = await prescriptions.visible(session, principal, prescription_id)
    found = prescription_views.prescription_public(prescription, _public_url(request))
    return resource_response(resources.medication_request(found))


@router.get("/MedicationRequest", summary="FHIR: search MedicationRequest", responses=FOUND)
async def search_prescriptions(
    request: Request,
    session: SessionDep,
    principal: Reader,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Yours as a patient and, for a doctor, those you issued; newest first."""
    page = await prescriptions.list_visible(session, principal, cursor=cursor, limit=count)
    found = []
    for summary in page.items:
        prescription = await prescriptions.visible(session, principal, summary.id)
        public = prescription_views.prescription_public(prescription, _public_url(request))
        found.append(resources.medication_request(public))
    return searchset(
        request,
        "MedicationRequest",
        found,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )


@router.get(
    "/DocumentReference/{attachment_id}", summary="FHIR: read DocumentReference", responses=READ
)
async def read_attachment(
    request: Request, session: SessionDep, principal: Reader, attachment_id: uuid.UUID
) -> Response:
    """An attachment's details; its `url` hands out the signed download link
    (`GET /v1/attachments/{id}/link` with your token). 404 for anyone who may not see it."""
    found = await attachments.get(
        session,
        principal,
        attachment_id,
        policy=request.app.state.settings.attachment_policy,
        referral_owner=referrals.attachment_owner,
    )
    return resource_response(resources.document_reference(found, _public_url(request)))


@router.get("/DocumentReference", summary="FHIR: search DocumentReference", responses=FOUND)
async def search_attachments(
    request: Request,
    session: SessionDep,
    principal: Reader,
    encounter: Annotated[uuid.UUID, Query(description="The consult's id.")],
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """A consult's attachments, oldest first (`GET /v1/appointments/{id}/attachments`); none
    for a consult you may not see."""
    try:
        page = await attachments.of_consult(
            session,
            principal,
            encounter,
            policy=request.app.state.settings.attachment_policy,
            cursor=cursor,
            limit=count,
        )
    except NotFound:
        return searchset(request, "DocumentReference", [], next_cursor=None, first_page=True)
    return searchset(
        request,
        "DocumentReference",
        [resources.document_reference(item, _public_url(request)) for item in page.items],
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )
