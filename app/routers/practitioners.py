"""Practitioners: profiles, licences, availability, time off."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.auth import AdminPrincipal, require_scopes
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.kernel.principal import Principal, Scope
from telehealth.practitioners import availability, rules
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.schemas import (
    AvailabilityIn,
    ExtraWindowIn,
    ExtraWindowPublic,
    LicenceIn,
    PractitionerCreate,
    PractitionerPublic,
    TimeOffEntryPublic,
    TimeOffIn,
    TimeOffPublic,
)
from telehealth.scheduling import openings

router = APIRouter(prefix="/v1/practitioners", tags=["practitioners"])

Anyone = Annotated[Principal, require_scopes(Scope.ME)]
Scheduler = Annotated[Principal, require_scopes(Scope.SCHEDULE_WRITE)]


@router.get("/specialties", summary="Specialty codes")
async def specialties() -> dict[str, dict[str, str]]:
    """The documented specialty codes, with English and Spanish names."""
    return {code: {"en": en, "es": es} for code, (en, es) in rules.SPECIALTIES.items()}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a practitioner profile (admin)",
    responses=problem_responses(401, 403, 409, 422),
)
async def create(
    session: SessionDep, principal: AdminPrincipal, data: PractitionerCreate
) -> PractitionerPublic:
    """Give a doctor account its practitioner profile: specialties, languages (BCP 47, including
    Indigenous languages such as `nah`, `yua`, `mix`, `zap`) and IANA time zone."""
    return await practitioners.public(session, await openings.create_practitioner(session, data))


@router.get("", summary="Practitioners", responses=problem_responses(400, 401))
async def list_practitioners(
    session: SessionDep, principal: Anyone, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[PractitionerPublic]:
    """The cooperative's practitioners with their licences and weekly availability."""
    return await practitioners.list_active(session, cursor=cursor, limit=limit)


@router.get("/{practitioner_id}", summary="A practitioner", responses=problem_responses(401, 404))
async def get_practitioner(
    session: SessionDep, principal: Anyone, practitioner_id: uuid.UUID
) -> PractitionerPublic:
    """A practitioner's profile, licences and availability."""
    return await practitioners.public(session, await practitioners.get(session, practitioner_id))


@router.put(
    "/{practitioner_id}/availability",
    summary="Set weekly availability",
    responses=problem_responses(401, 403, 404, 422),
)
async def set_availability(
    session: SessionDep, principal: Scheduler, practitioner_id: uuid.UUID, data: AvailabilityIn
) -> PractitionerPublic:
    """Weekly windows in the doctor's local time, slot length, buffer, minimum notice and booking
    horizon (the doctor or an admin). Times are `HH:MM` or `HH:MM:SS` on the doctor's own clock,
    without a UTC offset; each window ends after it starts on the same day, and is given once.
    Bookings already made are kept."""
    practitioner = await openings.set_availability(session, principal, practitioner_id, data)
    return await practitioners.public(session, practitioner)


@router.post(
    "/{practitioner_id}/licences",
    status_code=status.HTTP_201_CREATED,
    summary="Record a licence (admin)",
    responses=problem_responses(401, 403, 404, 422),
)
async def add_licence(
    session: SessionDep, principal: Scheduler, practitioner_id: uuid.UUID, data: LicenceIn
) -> PractitionerPublic:
    """A Mexican cédula profesional (`MX`) or a US state licence (`US-CA`), with its expiry."""
    practitioner = await openings.add_licence(session, principal, practitioner_id, data)
    return await practitioners.public(session, practitioner)


@router.post(
    "/{practitioner_id}/extra-windows",
    status_code=status.HTTP_201_CREATED,
    summary="Add availability on one date",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_extra(
    session: SessionDep, principal: Scheduler, practitioner_id: uuid.UUID, data: ExtraWindowIn
) -> ExtraWindowPublic:
    """An exception to the weekly rules that adds a window on one date of the doctor's calendar,
    from today to a year ahead (the doctor or an admin). Times are `HH:MM` or `HH:MM:SS` on the
    doctor's own clock, without a UTC offset; the same window twice is a conflict (409)."""
    return await openings.add_extra(session, principal, practitioner_id, data)


@router.get(
    "/{practitioner_id}/extra-windows",
    summary="Extra windows",
    responses=problem_responses(400, 401, 404),
)
async def list_extra(
    session: SessionDep,
    principal: Anyone,
    practitioner_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ExtraWindowPublic]:
    """The doctor's dated extra windows, in the order they were added (the doctor and admins;
    404 for anyone else)."""
    return await availability.extra_windows(
        session, principal, practitioner_id, cursor=cursor, limit=limit
    )


@router.delete(
    "/{practitioner_id}/extra-windows/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an extra window",
    responses=problem_responses(401, 403, 404),
)
async def delete_extra(
    session: SessionDep, principal: Scheduler, practitioner_id: uuid.UUID, window_id: uuid.UUID
) -> None:
    """No more slots from this window (the doctor or an admin; 404 for anyone else). Consults
    already booked in it are kept."""
    await openings.delete_extra(session, principal, practitioner_id, window_id)


@router.post(
    "/{practitioner_id}/time-off",
    status_code=status.HTTP_201_CREATED,
    summary="Add time off",
    responses=problem_responses(401, 403, 404, 422),
)
async def add_time_off(
    session: SessionDep, principal: Scheduler, practitioner_id: uuid.UUID, data: TimeOffIn
) -> TimeOffPublic:
    """No slots are offered inside time off. It ends after now and within a year, and may start
    up to a day ago. Bookings already inside it are not deleted: they are marked as needing a
    reschedule, and an event tells the patient."""
    return await openings.add_time_off(session, principal, practitioner_id, data)


@router.get(
    "/{practitioner_id}/time-off",
    summary="Time off",
    responses=problem_responses(400, 401, 404),
)
async def list_time_off(
    session: SessionDep,
    principal: Anyone,
    practitioner_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[TimeOffEntryPublic]:
    """The doctor's time off by start, with its reasons (the doctor and admins; 404 for anyone
    else)."""
    return await availability.time_off(
        session, principal, practitioner_id, cursor=cursor, limit=limit
    )


@router.delete(
    "/{practitioner_id}/time-off/{time_off_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove time off",
    responses=problem_responses(401, 403, 404),
)
async def delete_time_off(
    session: SessionDep, principal: Scheduler, practitioner_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    """Its hours offer slots again (the doctor or an admin; 404 for anyone else). Bookings it
    flagged keep their `needs_reschedule` flag until they are rescheduled."""
    await openings.delete_time_off(session, principal, practitioner_id, time_off_id)
