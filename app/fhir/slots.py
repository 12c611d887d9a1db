"""FHIR Slot search over the REST API's open-slot search (`telehealth.scheduling.openings`: a
few statements whatever the number of doctors), and the public SMART Scheduling Links feed
(`$bulk-publish`): open slots, schedules and the telehealth location, with no patient data."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import require_scopes
from app.context import TodayDep
from app.db import SessionDep, in_own_session
from app.errors import InvalidParameter, problem_responses
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound, Text
from cooperative.kernel.pagination import Cursor, InvalidCursor
from cooperative.kernel.principal import Principal
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.scheduling import openings

from . import resources
from .bundles import FHIR_NDJSON, PREFIX, FhirResponse, base_url, resource_response, searchset
from .params import SEARCH, CountParam, CursorParam, fhir_responses
from .scopes import RESOURCE_SCOPES

router = APIRouter(prefix=PREFIX, tags=["fhir"], default_response_class=FhirResponse)

Searcher = Annotated[Principal, require_scopes(RESOURCE_SCOPES["Slot"])]
MAX_SEARCH_DAYS = 31
PAGE = 200  # slots per statement of the published file
UTC_ZONE = ZoneInfo("UTC")
_START = Text(
    "give `ge` and `lt` dates (start=ge2027-01-04&start=lt2027-01-11), at most 31 days apart, "
    "from today up to 400 days ahead",
    "indique fechas `ge` y `lt` (start=ge2027-01-04&start=lt2027-01-11), a lo sumo 31 días "
    "entre sí, desde hoy y hasta 400 días adelante",
)


def days(bounds: list[str], today: date) -> tuple[date, date]:
    """The UTC dates a `start` search covers: `ge` the first, `lt` the day after the last (7
    days from today by default, 31 at most), as `GET /v1/slots?from=&to=&timezone=UTC`."""
    first: date | None = None
    end: date | None = None
    try:
        if len(bounds) > 2:
            raise ValueError(bounds)
        for bound in bounds:
            prefix, day = bound[:2], date.fromisoformat(bound[2:])
            if prefix == "ge":
                first = day
            elif prefix == "lt":
                end = day
            else:
                raise ValueError(bound)
    except ValueError as exc:
        raise InvalidParameter(name="start", reason=_START) from exc
    first = first or today
    last = end - timedelta(days=1) if end else first + timedelta(days=6)
    wrong_start = not today - timedelta(days=1) <= first <= today + timedelta(days=400)
    if wrong_start or last < first or (last - first).days >= MAX_SEARCH_DAYS:
        raise InvalidParameter(name="start", reason=_START)
    return first, last


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    after = Cursor.decode(cursor)
    if after is None:
        return None
    try:
        return after.after_time, uuid.UUID(after.after_id)
    except ValueError as exc:
        raise InvalidCursor() from exc


@router.get(
    "/Slot", summary="FHIR: search Slot", responses=fhir_responses(400, 401, 403, 422, what=SEARCH)
)
async def search_slots(
    request: Request,
    session: SessionDep,
    principal: Searcher,
    today: TodayDep,
    start: Annotated[list[str] | None, Query(description="`geYYYY-MM-DD`, `ltYYYY-MM-DD`.")] = None,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
    language: Annotated[str | None, Query(max_length=16, examples=["nah"])] = None,
    jurisdiction: Annotated[str | None, Query(max_length=8)] = None,
    count: CountParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Open slots (`free`), soonest first: the same slots as `GET /v1/slots` with the same
    `specialty`, `language` (BCP 47) and `jurisdiction`, over the UTC dates `start=geYYYY-MM-DD`
    up to `start=ltYYYY-MM-DD` (7 days from today by default, 31 at most). Each names its
    Schedule (the doctor) and carries the booking link."""
    first, last = days(start or [], today)
    try:
        visit = (
            practitioner_rules.normalize_visit_jurisdiction(jurisdiction) if jurisdiction else None
        )
    except ValueError as exc:
        raise InvalidParameter(name="jurisdiction", reason=_START) from exc
    query = openings.SlotQuery(
        first_day=first,
        last_day=last,
        zone=UTC_ZONE,
        specialty=specialty,
        language=language,
        jurisdiction=visit,
        after=_after(cursor),
    )
    found = await openings.search(session, query, now=clock.now(), limit=count)
    shown, more = found[:count], len(found) > count
    return searchset(
        request,
        "Slot",
        [
            resources.slot(s.practitioner.id, s.start, s.end, s.practitioner.specialties)
            for s in shown
        ],
        next_cursor=Cursor(shown[-1].start, str(shown[-1].practitioner.id)).encode()
        if more
        else None,
        first_page=cursor is None,
    )


@router.get(
    "/Slot/{slot_id}", summary="FHIR: read Slot", responses=fhir_responses(401, 403, 404, 422)
)
async def read_slot(session: SessionDep, principal: Searcher, slot_id: str) -> Response:
    """An open slot by the id its search gave (`{practitioner id}-{start in Unix seconds}`);
    404 once it is taken or past."""
    parsed = resources.parse_slot_id(slot_id)
    if parsed is None:
        raise NotFound()
    doctor_id, start = parsed
    end = await openings.bookable(session, doctor_id, start, now=clock.now())
    if end is None:
        raise NotFound()
    doctor = await practitioners.get(session, doctor_id)
    return resource_response(resources.slot(doctor.id, start, end, list(doctor.specialties)))


MANIFEST_FILES = ("Location", "Schedule", "Slot")


@router.get(
    "/$bulk-publish",
    summary="SMART Scheduling Links: the open-slot manifest (public)",
    response_class=JSONResponse,
    responses={
        200: {"description": "The manifest.", "content": {"application/json": {}}},
        **problem_responses(),
    },
)
async def manifest(request: Request) -> JSONResponse:
    """No token needed, no patient data: the manifest of SMART Scheduling Links
    (`transactionTime`, `request`, `output`: the Location, Schedule and Slot files in NDJSON),
    so that community apps can show when the cooperative's doctors are free."""
    base = base_url(request)
    return JSONResponse(
        {
            "transactionTime": resources.instant(clock.now()),
            "request": f"{base}/$bulk-publish",
            "output": [
                {"type": kind, "url": f"{base}/$bulk-publish/{kind}.ndjson"}
                for kind in MANIFEST_FILES
            ],
            "error": [],
        },
        headers={"Cache-Control": "public, max-age=300"},
    )


def _ndjson(lines: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        lines, media_type=FHIR_NDJSON, headers={"Cache-Control": "public, max-age=300"}
    )


async def _schedules(sessions: async_sessionmaker[AsyncSession], today: date) -> AsyncIterator[str]:
    cursor: str | None = None
    while True:
        found = await in_own_session(
            sessions,
            lambda session, cursor=cursor: practitioners.list_active(  # type: ignore[misc]
                session, cursor=cursor, limit=200
            ),
            commit=False,
        )
        for doctor in found.items:
            yield json.dumps(resources.schedule(doctor, today), ensure_ascii=False) + "\n"
        if found.next_cursor is None:
            return
        cursor = found.next_cursor


async def _open_slots(
    sessions: async_sessionmaker[AsyncSession], today: date
) -> AsyncIterator[str]:
    """Every open slot up to the longest booking horizon, a page per statement and session."""
    now = clock.now()
    after: tuple[datetime, uuid.UUID] | None = None
    last = today + timedelta(days=practitioner_rules.MAX_HORIZON_DAYS)
    while True:
        query = openings.SlotQuery(first_day=today, last_day=last, zone=UTC_ZONE, after=after)
        found = await in_own_session(
            sessions,
            lambda session, query=query: openings.search(  # type: ignore[misc]
                session, query, now=now, limit=PAGE
            ),
        )
        for s in found[:PAGE]:
            slot = resources.slot(s.practitioner.id, s.start, s.end, s.practitioner.specialties)
            yield json.dumps(slot, ensure_ascii=False) + "\n"
        if len(found) <= PAGE:
            return
        after = (found[PAGE - 1].start, found[PAGE - 1].practitioner.id)


NDJSON = {200: {"description": "NDJSON.", "content": {FHIR_NDJSON: {}}}, **problem_responses(404)}


@router.get(
    "/$bulk-publish/{kind}.ndjson",
    summary="SMART Scheduling Links: a published file (public)",
    response_class=StreamingResponse,
    responses=NDJSON,
)
async def published(request: Request, kind: str) -> StreamingResponse:
    """`Location` (the telehealth location), `Schedule` (one per doctor) or `Slot` (every open
    slot within the booking horizon, `free`, with its booking link), one resource a line,
    streamed. No patient data."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    today = clock.today()
    if kind == "Location":
        location = resources.telehealth_location(base_url(request))

        async def one() -> AsyncIterator[str]:
            yield json.dumps(location, ensure_ascii=False) + "\n"

        return _ndjson(one())
    if kind == "Schedule":
        return _ndjson(_schedules(sessions, today))
    if kind == "Slot":
        return _ndjson(_open_slots(sessions, today))
    raise NotFound()
