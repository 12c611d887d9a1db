"""Prescriptions (recetas): issued by a consult's treating doctor, read and printed by its patient
and that doctor, revoked by the doctor, verified by a pharmacy without an account."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from app.auth import require_scopes
from app.db import SessionDep
from app.errors import problem_responses
from app.i18n import negotiate
from app.pagination import CursorParam, LimitParam, Page
from app.reasons import ReasonParam
from app.settings import Settings
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Principal, Scope
from telehealth.prescriptions import printing, views
from telehealth.prescriptions import service as prescriptions
from telehealth.prescriptions.errors import (
    AlreadyRevoked,
    ControlledSubstance,
    NoCedula,
    NotPrescribable,
    NotTheTreatingDoctor,
)
from telehealth.prescriptions.schemas import (
    PrescriptionCreate,
    PrescriptionPublic,
    PrescriptionSummary,
    RevocationIn,
    VerificationPublic,
)

router = APIRouter(tags=["prescriptions"])

Reader = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_READ)]
Writer = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_WRITE)]

_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/v1/appointments/{appointment_id}/prescriptions",
    summary="Issue a prescription (treating doctor)",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        problems=(NotTheTreatingDoctor, NotPrescribable, NoCedula, ControlledSubstance),
    ),
)
async def issue(
    request: Request,
    session: SessionDep,
    principal: Writer,
    appointment_id: uuid.UUID,
    data: PrescriptionCreate,
) -> PrescriptionPublic:
    """The consult's treating doctor issues a prescription for its patient while the consult
    takes place (booked or arrived, its room open) or once it has taken place (fulfilled), up to
    7 days after its end. It carries what the Reglamento de Insumos para la Salud arts. 28-31
    ask: the doctor's name, cédula profesional and specialty cédula (from the licence record),
    the cooperative's name and address, the date (the cooperative's zone), the patient's name,
    and for each medicine its generic name, presentation, dose, route, frequency, duration and
    quantity, with instructions in the patient's language (the account's preferred language,
    returned as `language`). A controlled substance (Ley General de Salud art. 226 fr. I-III)
    is refused, naming the drug and the fraction. Once issued it never changes; only its
    revocation does."""
    settings = _settings(request)
    prescription = await prescriptions.issue(
        session,
        principal,
        appointment_id,
        data,
        window=settings.consult_window,
        institution=prescriptions.Institution(
            settings.cooperative_name, settings.cooperative_address
        ),
    )
    return views.prescription_public(prescription, settings.public_url)


@router.get(
    "/v1/prescriptions",
    summary="My prescriptions",
    responses=problem_responses(400, 401, 403),
)
async def list_prescriptions(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[PrescriptionSummary]:
    """Yours as a patient (those of your dependents included) and, for a doctor, those you
    issued; newest first."""
    return await prescriptions.list_visible(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/v1/prescriptions/verify/{code}",
    summary="Verify a prescription (public, for pharmacies)",
    response_model=VerificationPublic,
    responses={
        200: {
            "description": "The prescription as a pharmacy may see it; an HTML page when the "
            "request prefers `text/html` (a phone that scanned the QR code).",
            "content": {"text/html": {}},
        },
        **problem_responses(404),
    },
)
async def verify(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Path(max_length=80)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """No account needed. Whether the prescription with this code is valid (or revoked, and
    when), who issued it (name, cédula), the date and the medicines; nothing about the patient
    and no diagnosis. Every verification is counted on the prescription. The code is read in
    any case, with or without dashes or spaces; a code is 140 random bits, so guessing one is
    hopeless, and an unknown code is simply not found."""
    prescription = await prescriptions.verify(session, code)
    headers = {**_PRIVATE, "X-Robots-Tag": "noindex"}
    if "text/html" in (accept or ""):
        language = negotiate(accept_language, _settings(request).default_language)
        return HTMLResponse(
            printing.verification_html(prescription, language),
            status_code=200 if prescription is not None else 404,
            headers={**headers, "Content-Security-Policy": printing.VERIFY_CSP},
        )
    if prescription is None:
        raise NotFound()
    public = views.verification_public(prescription)
    return JSONResponse(public.model_dump(mode="json"), headers=headers)


@router.get(
    "/v1/prescriptions/{prescription_id}",
    summary="A prescription",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_prescription(
    request: Request,
    session: SessionDep,
    principal: Reader,
    prescription_id: uuid.UUID,
    reason: ReasonParam = None,
) -> PrescriptionPublic:
    """For its patient (or the member responsible for the dependent it is for) and its
    treating doctor, and an admin who gives a `reason`; nobody else (404). A read by anyone
    but the patient goes in the patient's access log (an admin's with the reason)."""
    prescription = await prescriptions.visible(session, principal, prescription_id, reason=reason)
    return views.prescription_public(prescription, _settings(request).public_url)


@router.get(
    "/v1/prescriptions/{prescription_id}/print",
    summary="Print view (HTML)",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "One sheet, A4 or Letter."},
        **problem_responses(401, 403, 404),
    },
)
async def print_view(
    request: Request, session: SessionDep, principal: Reader, prescription_id: uuid.UUID
) -> HTMLResponse:
    """The prescription as a page to print on one sheet (A4 or Letter), in the patient's
    language, with its verification code and a QR code of the public verification address at
    the top. Revoked, it says so."""
    prescription = await prescriptions.visible(session, principal, prescription_id)
    url = views.verification_url(_settings(request).public_url, prescription)
    return HTMLResponse(
        printing.print_html(prescription, url),
        headers={**_PRIVATE, "Content-Security-Policy": printing.PRINT_CSP},
    )


@router.get(
    "/v1/prescriptions/{prescription_id}/pdf",
    summary="The prescription as PDF",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "One page."},
        **problem_responses(401, 403, 404, 422),
    },
)
async def pdf(
    request: Request,
    session: SessionDep,
    principal: Reader,
    prescription_id: uuid.UUID,
    paper: Literal["letter", "a4"] = "letter",
) -> Response:
    """The same as the print view, as a PDF on one Letter (tamaño carta) or A4 page."""
    prescription = await prescriptions.visible(session, principal, prescription_id)
    url = views.verification_url(_settings(request).public_url, prescription)
    return Response(
        printing.pdf_bytes(prescription, url, paper),
        media_type="application/pdf",
        headers={
            **_PRIVATE,
            "Content-Disposition": f'inline; filename="receta-{prescription.id}.pdf"',
        },
    )


@router.post(
    "/v1/prescriptions/{prescription_id}/revoke",
    summary="Revoke a prescription (treating doctor)",
    responses=problem_responses(
        401, 403, 404, 409, 422, problems=(NotTheTreatingDoctor, AlreadyRevoked)
    ),
)
async def revoke(
    request: Request,
    session: SessionDep,
    principal: Writer,
    prescription_id: uuid.UUID,
    data: RevocationIn,
) -> PrescriptionPublic:
    """The treating doctor withdraws the prescription, with a reason; from then on its
    verification says it is revoked and since when. Nothing else of it changes."""
    prescription = await prescriptions.revoke(session, principal, prescription_id, data.reason)
    return views.prescription_public(prescription, _settings(request).public_url)
