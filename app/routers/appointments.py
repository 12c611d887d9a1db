"""Slot search and appointments: book, reschedule, cancel, record what happened, calendar."""

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status

from app.auth import AdminPrincipal, require_scopes
from app.context import IdempotencyKey, LawDep, TodayDep, mark_replayed
from app.db import SessionDep
from app.errors import InvalidParameter, problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.settings import Settings
from app.webhooks import appointment_event
from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock, moments
from cooperative.kernel.errors import TequioError, Text
from cooperative.kernel.pagination import Cursor, InvalidCursor
from cooperative.kernel.principal import Principal, Scope
from cooperative.kernel.schemas import IsoDate, IsoDatetime
from cooperative.kernel.types import sane_moment
from cooperative.webhooks.rules import EventType
from telehealth.practitioners import rules
from telehealth.scheduling import openings, views
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.errors import ConsultBegun
from telehealth.scheduling.rules import AppointmentStatus
from telehealth.scheduling.schemas import (
    AppointmentCreate,
    AppointmentPublic,
    CancelIn,
    EventPublic,
    RefundIn,
    RescheduleIn,
    SlotPage,
    StatusIn,
)

router = APIRouter(tags=["appointments"])

Reader = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_READ)]
Writer = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_WRITE)]
MAX_SEARCH_DAYS = 31


class RangeTooLong(TequioError):
    status = 422
    slug = "range-too-long"
    title = Text("Date range too long", "Rango de fechas demasiado largo")
    detail = Text(
        "Search at most {days:# day|# days} at a time.",
        "Busque como máximo {days:# día|# días} a la vez.",
    )


def _reminders(request: Request) -> list[timedelta]:
    """When the patient's reminders go, before the consult (`TEQUIO_CONSULT_REMINDER_HOURS`)."""
    settings: Settings = request.app.state.settings
    return settings.consult_reminders


async def _zone(request: Request, session: SessionDep, principal: Principal) -> str:
    account = await accounts_service.get(session, principal.account_id)
    default: str = request.app.state.settings.timezone
    return (account.timezone if account else None) or default


def _zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(rules.valid_timezone(name))
    except ValueError as exc:
        raise InvalidParameter(
            name="timezone",
            reason=Text(
                "give an IANA time zone such as America/Mexico_City",
                "indique una zona horaria IANA, p. ej. America/Mexico_City",
            ),
        ) from exc


def _visit(jurisdiction: str | None) -> str | None:
    try:
        return rules.normalize_visit_jurisdiction(jurisdiction) if jurisdiction else None
    except ValueError as exc:
        raise InvalidParameter(
            name="jurisdiction",
            reason=Text(
                "give MX, a Mexican state (MX-BCN) or a US state (US-CA)",
                "indique MX, un estado de México (MX-BCN) o de EE. UU. (US-CA)",
            ),
        ) from exc


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where the page before ended: its last slot's start and practitioner."""
    after = Cursor.decode(cursor)
    if after is None:
        return None
    try:
        return after.after_time, uuid.UUID(after.after_id)
    except ValueError as exc:
        raise InvalidCursor() from exc


def _days(from_: date | None, to: date | None, today: date) -> tuple[date, date]:
    """The dates searched: 7 days from today by default, 31 at most."""
    first = from_ or today
    if not today - timedelta(days=1) <= first <= today + timedelta(days=400):
        raise InvalidParameter(
            name="from",
            reason=Text(
                "search from today, up to 400 days ahead",
                "busque desde hoy y hasta 400 días adelante",
            ),
        )
    last = to or first + timedelta(days=6)
    if last < first or (last - first).days >= MAX_SEARCH_DAYS:
        raise RangeTooLong(days=MAX_SEARCH_DAYS)
    return first, last


@router.get("/v1/slots", summary="Search open slots", responses=problem_responses(400, 401, 422))
async def search_slots(
    request: Request,
    session: SessionDep,
    principal: Reader,
    today: TodayDep,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
    language: Annotated[str | None, Query(max_length=16, examples=["nah"])] = None,
    jurisdiction: Annotated[
        str | None,
        Query(
            max_length=8,
            description="The patient's location at visit time: only doctors "
            "licensed there are shown (MX, MX-BCN, US-CA…).",
        ),
    ] = None,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: Annotated[IsoDate | None, Query()] = None,
    timezone: Annotated[
        str | None, Query(max_length=64, description="IANA zone for the answer; default yours.")
    ] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> SlotPage:
    """Open slots across the cooperative's doctors, soonest first, by specialty, language, the
    patient's jurisdiction and dates (7 days from today by default, 31 at most). Times come in
    the zone asked for, with the same instant in the doctor's own zone, and until when a consult
    booked in the slot could be cancelled free of charge (`free_cancellation_until`). Each doctor
    of the page is given once, in `practitioners`; each slot names its doctor by
    `practitioner_id`."""
    zone = _zone_info(timezone or await _zone(request, session, principal))
    moments.read_in(zone)  # a zone asked for holds for the whole answer
    visit = _visit(jurisdiction)
    first, last = _days(from_, to, today)
    query = openings.SlotQuery(
        first_day=first,
        last_day=last,
        zone=zone,
        specialty=specialty,
        language=language,
        jurisdiction=visit,
        after=_after(cursor),
    )
    found = await openings.search(session, query, now=clock.now(), limit=limit)
    hours = await views.late_cancellation_hours(session)
    return views.slot_page(found, zone, limit, hours)


@router.post(
    "/v1/appointments",
    status_code=status.HTTP_201_CREATED,
    summary="Book a consult",
    responses={
        200: {"description": "A retry: the appointment first booked with this Idempotency-Key."},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def book(
    request: Request,
    session: SessionDep,
    principal: Writer,
    law: LawDep,
    today: TodayDep,
    response: Response,
    data: AppointmentCreate,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentPublic:
    """Book an open slot. Each refusal has its own problem type: `not-a-slot`, `too-soon`,
    `beyond-horizon`, `slot-unavailable`, `slot-taken` (409: someone else got it first — of any
    number of simultaneous requests exactly one succeeds), `not-licensed` (the doctor may not see
    a patient where the patient will be), `not-in-good-standing`, `members-only`.

    The consult fee is fixed now from the patient's sliding-scale class (or the non-member price)
    and stored with its explanation and the bylaws version. `free_cancellation_until` says,
    in the patient's time zone, until when cancelling costs nothing. Send an `Idempotency-Key`
    so that a retry from a flaky link never books twice. The patient's reminders (24 hours and
    1 hour before, with no health data) are queued with the booking: `GET /v1/me/notifications`.
    A reschedule moves them, a cancellation cancels them."""
    appointment, replayed = await scheduling.book(
        session,
        principal,
        data,
        law,
        idempotency_key=idempotency_key,
        today=today,
        reminders=_reminders(request),
    )
    if not replayed:
        await appointment_event(session, EventType.APPOINTMENT_BOOKED, appointment)
    mark_replayed(response, replayed)
    return await views.appointment_public(session, principal, appointment)


@router.get("/v1/appointments", summary="Appointments", responses=problem_responses(400, 401, 403))
async def list_appointments(
    session: SessionDep,
    principal: Reader,
    status_: Annotated[AppointmentStatus | None, Query(alias="status")] = None,
    starts_after: Annotated[IsoDatetime | None, Query()] = None,
    starts_before: Annotated[IsoDatetime | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AppointmentPublic]:
    """Yours as patient or booker, your schedule as a doctor, your clinic's as its staff; all for
    admins. By start time."""
    for name, moment in (("starts_after", starts_after), ("starts_before", starts_before)):
        try:
            if moment is not None:
                sane_moment(moment)
        except ValueError as exc:
            raise InvalidParameter(
                name=name,
                reason=Text(
                    "give an instant with its UTC offset, between 1970 and 9000",
                    "indique un instante con su desfase UTC, entre 1970 y 9000",
                ),
            ) from exc
    return await scheduling.list_visible(
        session,
        principal,
        status=status_,
        starts_after=starts_after,
        starts_before=starts_before,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/v1/appointments/{appointment_id}",
    summary="An appointment",
    responses=problem_responses(401, 403, 404),
)
async def get_appointment(
    session: SessionDep, principal: Reader, appointment_id: uuid.UUID
) -> AppointmentPublic:
    """One you take part in (404 for anyone else's)."""
    appointment = await scheduling.visible(session, principal, appointment_id)
    return await views.appointment_public(session, principal, appointment)


@router.post(
    "/v1/appointments/{appointment_id}/cancel",
    summary="Cancel",
    responses=problem_responses(401, 403, 404, 409, 422, problems=(ConsultBegun,)),
)
async def cancel(
    session: SessionDep,
    principal: Writer,
    law: LawDep,
    response: Response,
    appointment_id: uuid.UUID,
    data: CancelIn,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentPublic:
    """Cancel with a reason; after `free_cancellation_until` (the bylaws' window before the
    start) it is marked late. Once the consult has begun (its start passed, or the patient is in
    the waiting room) only its doctor or an admin cancels it (409 `consult-begun`): the doctor
    records whether it took place instead.

    Send an `Idempotency-Key`: a retry from a flaky link with the same key and reason gets the
    appointment again (`Idempotent-Replayed: true`) instead of `409`."""
    appointment, replayed = await scheduling.cancel(
        session,
        principal,
        appointment_id,
        reason=data.reason,
        law=law,
        idempotency_key=idempotency_key,
    )
    if not replayed:
        await appointment_event(session, EventType.APPOINTMENT_CANCELLED, appointment)
    mark_replayed(response, replayed)
    return await views.appointment_public(session, principal, appointment)


@router.post(
    "/v1/appointments/{appointment_id}/reschedule",
    summary="Reschedule",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reschedule(
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
    appointment_id: uuid.UUID,
    data: RescheduleIn,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentPublic:
    """Move to another open slot of the same doctor: the new time is taken and the old freed
    together, or nothing changes.

    Send an `Idempotency-Key`: a retry from a flaky link with the same key and time gets the
    appointment again (`Idempotent-Replayed: true`) instead of a refusal."""
    appointment, replayed = await scheduling.reschedule(
        session,
        principal,
        appointment_id,
        data.start,
        idempotency_key=idempotency_key,
        reminders=_reminders(request),
    )
    if not replayed:
        await appointment_event(session, EventType.APPOINTMENT_RESCHEDULED, appointment)
    mark_replayed(response, replayed)
    return await views.appointment_public(session, principal, appointment)


@router.post(
    "/v1/appointments/{appointment_id}/status",
    summary="Record what happened",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_status(
    request: Request,
    session: SessionDep,
    principal: Writer,
    appointment_id: uuid.UUID,
    data: StatusIn,
) -> AppointmentPublic:
    """The doctor marks `arrived`, `fulfilled` or `noshow`; an admin may mark `entered-in-error`.

    A fulfilled consult is patronage: the patient's fee (taken as paid at the visit) and the
    doctor's minutes, for whichever is a member-owner. Entered in error reverses both."""
    appointment = await scheduling.set_status(
        session,
        principal,
        appointment_id,
        status=data.status,
        reason=data.reason,
        timezone=request.app.state.settings.timezone,
    )
    return await views.appointment_public(session, principal, appointment)


@router.post(
    "/v1/appointments/{appointment_id}/refund",
    summary="Refund a consult fee",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def refund(
    session: SessionDep, principal: AdminPrincipal, appointment_id: uuid.UUID, data: RefundIn
) -> list[EventPublic]:
    """An admin refunds a fulfilled consult's fee: the patient's patronage for it is reversed
    (once), and the refund is recorded among the appointment's events."""
    appointment = await scheduling.refund(session, principal, appointment_id, reason=data.reason)
    return await views.events_public(session, appointment.id)


@router.get(
    "/v1/appointments/{appointment_id}/events",
    summary="What happened to an appointment",
    responses=problem_responses(400, 401, 403, 404),
)
async def events(
    session: SessionDep,
    principal: Reader,
    appointment_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[EventPublic]:
    """Booked, rescheduled, cancelled, needs-reschedule, status changes — oldest first."""
    appointment = await scheduling.visible(session, principal, appointment_id)
    return await views.events_page(session, appointment.id, cursor=cursor, limit=limit)


@router.get(
    "/v1/appointments/{appointment_id}/calendar.ics",
    summary="Add to a calendar",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "An iCalendar event."},
        **problem_responses(401, 403, 404),
    },
)
async def calendar(
    request: Request, session: SessionDep, principal: Reader, appointment_id: uuid.UUID
) -> Response:
    """An iCalendar (RFC 5545) event for a phone's calendar: the time, the doctor's name, the
    consult page's link (`TEQUIO_PUBLIC_BASE_URL`) and a reminder when its room opens. It holds
    no health data (no specialty, no reason)."""
    settings: Settings = request.app.state.settings
    appointment = await scheduling.visible(session, principal, appointment_id)
    body = await views.calendar_event(
        session,
        appointment,
        base_url=settings.public_url,
        opens_before=timedelta(minutes=settings.consult_opens_minutes_before),
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="tequio-{appointment.id}.ics"'},
    )
