"""Surplus allocation: patronage, allocation runs, posting, notices and capital accounts."""

import csv
import io
import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from app.auth import AdminPrincipal, require_scopes
from app.db import SessionDep
from app.errors import problem_responses
from app.i18n import negotiate
from app.pagination import CursorParam, LimitParam, Page
from cooperative.governance import service as governance
from cooperative.kernel.principal import Principal, Scope
from cooperative.kernel.schemas import QueryInt
from cooperative.membership import service as membership_service
from cooperative.surplus import notices
from cooperative.surplus import service as surplus
from cooperative.surplus.schemas import (
    CapitalAccountPublic,
    JournalEntryPublic,
    PatronageCreate,
    PatronagePublic,
    Reason,
    RunCreate,
    RunPublic,
)

router = APIRouter(prefix="/v1/surplus", tags=["surplus"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]


@router.post(
    "/runs",
    status_code=status.HTTP_201_CREATED,
    summary="Compute an allocation (draft)",
    responses=problem_responses(401, 403, 409, 422),
)
async def compute(
    request: Request, session: SessionDep, principal: AdminPrincipal, data: RunCreate
) -> RunPublic:
    """Runs the bylaws waterfall over the year's patronage, under the bylaws in force at the
    year's end: reserve fund (up to its cap), education and social welfare funds, then the
    member classes by the bylaws' ratio and each member pro rata to patronage, split into cash
    and retained capital. A draft, recomputed as often as needed until posted; the assembly
    approves it with a `surplus_allocation` proposal naming this run."""
    run = await surplus.compute(
        session,
        year=data.fiscal_year,
        net_surplus_minor=data.net_surplus_minor,
        currency=data.currency,
        rates={str(k): v for k, v in data.rates.items()},
        timezone=request.app.state.settings.timezone,
        account_id=principal.account_id,
    )
    return surplus.run_public(run)


@router.get("/runs", summary="Allocation runs", responses=problem_responses(400, 401, 403))
async def list_runs(
    session: SessionDep,
    _: AdminPrincipal,
    fiscal_year: Annotated[QueryInt | None, Query(ge=2000, le=2200)] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[RunPublic]:
    """Every run, newest first (admins)."""
    return await surplus.list_runs(session, year=fiscal_year, cursor=cursor, limit=limit)


@router.get("/runs/{run_id}", summary="One run", responses=problem_responses(401, 403, 404))
async def get_run(session: SessionDep, _: AdminPrincipal, run_id: uuid.UUID) -> RunPublic:
    """The run's funds, class pools, inputs' digest and bylaws version."""
    return surplus.run_public(await surplus.get_run(session, run_id))


@router.get(
    "/runs/{run_id}/lines.csv",
    summary="Export a run (CSV)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per member."},
        **problem_responses(401, 403, 404),
    },
)
async def export(session: SessionDep, _: AdminPrincipal, run_id: uuid.UUID) -> Response:
    """Each member's patronage, share, cash and retained parts (also `tequio surplus export`)."""
    run = await surplus.get_run(session, run_id)
    return Response(
        await export_csv(session, run.id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="allocation-{run.id}.csv"'},
    )


async def export_csv(session: SessionDep, run_id: uuid.UUID) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "member_id",
            "member_class",
            "patronage",
            "eligible",
            "share_minor",
            "cash_minor",
            "retained_minor",
            "redemption_year",
        ]
    )
    for line in await surplus.lines(session, run_id):
        writer.writerow(
            [
                line.member_id,
                line.member_class,
                line.patronage,
                str(line.eligible).lower(),
                line.share_minor,
                line.cash_minor,
                line.retained_minor,
                line.redemption_year,
            ]
        )
    return out.getvalue()


@router.post(
    "/runs/{run_id}/post",
    summary="Post an approved allocation",
    responses=problem_responses(401, 403, 404, 409),
)
async def post(
    session: SessionDep, principal: AdminPrincipal, run_id: uuid.UUID
) -> JournalEntryPublic:
    """Once the general assembly approved it: one balanced journal entry crediting the funds,
    each member's capital account (retained) and cash payable. Exactly once; never edited."""
    entry = await surplus.post(
        session, run_id, account_id=principal.account_id, approval_of=governance.approval_of
    )
    return await surplus.entry_public(session, entry)


@router.post(
    "/runs/{run_id}/reverse",
    summary="Reverse a posted allocation",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reverse(
    session: SessionDep, principal: AdminPrincipal, run_id: uuid.UUID, data: Reason
) -> JournalEntryPublic:
    """The correction of a posting: an entry mirroring it. The year may then be computed again."""
    entry = await surplus.reverse(
        session, run_id, account_id=principal.account_id, reason=data.reason
    )
    return await surplus.entry_public(session, entry)


@router.get(
    "/runs/{run_id}/journal",
    summary="A run's journal entries",
    responses=problem_responses(400, 401, 403, 404),
)
async def journal(
    session: SessionDep,
    _: AdminPrincipal,
    run_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[JournalEntryPublic]:
    """The run's posting and any reversal, each with its balanced lines."""
    await surplus.get_run(session, run_id)
    return await surplus.journal(session, run_id, cursor=cursor, limit=limit)


@router.get(
    "/runs/{run_id}/notices/{member_id}",
    summary="A member's notice of allocation",
    responses={
        200: {"content": {"application/json": {}, "text/html": {}}},
        **problem_responses(401, 403, 404),
    },
)
async def notice(
    request: Request,
    session: SessionDep,
    principal: Reader,
    run_id: uuid.UUID,
    member_id: uuid.UUID,
    format_: Annotated[Literal["json", "html"], Query(alias="format")] = "json",
    lang: Annotated[Literal["es", "en"] | None, Query()] = None,
) -> Response:
    """Your patronage, your share, the cash part, the part retained and the year it is
    redeemable, and the bylaws version — in Spanish or English (`lang`, else Accept-Language);
    `format=html` is a page that prints on one sheet. Members see their own; admins all."""
    data = await surplus.notice_data(session, principal, run_id, member_id)
    language = lang or negotiate(
        request.headers.get("accept-language"), request.app.state.settings.default_language
    )
    built = notices.notice(lang=language, **data)
    if format_ == "html":
        return HTMLResponse(notices.printable(built))
    return Response(
        content=json.dumps(built, ensure_ascii=False),
        media_type="application/json",
    )


@router.get(
    "/notices", summary="Your notices of allocation", responses=problem_responses(400, 401, 403)
)
async def my_notices(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[RunPublic]:
    """The runs in which you have a line, newest first (open each with
    `…/runs/{id}/notices/{member_id}`)."""
    return await surplus.runs_of(session, principal.account_id, cursor=cursor, limit=limit)


@router.get(
    "/capital-accounts/{member_id}",
    summary="A member's patronage capital account",
    responses=problem_responses(401, 403, 404),
)
async def capital_account(
    session: SessionDep, principal: Reader, member_id: uuid.UUID
) -> CapitalAccountPublic:
    """Refunds retained in the member's capital account and cash owed, from posted allocations
    less reversals. Members see their own; admins all."""
    await membership_service.visible_member(session, principal, member_id)
    return await surplus.capital_account(session, member_id)


@router.post(
    "/patronage",
    status_code=status.HTTP_201_CREATED,
    summary="Record other patronage",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def record_patronage(
    session: SessionDep, principal: AdminPrincipal, data: PatronageCreate
) -> PatronagePublic:
    """Admins record a kind of patronage the bylaws define (`admin_patronage_kinds`), in the
    member class's unit, with a note; who recorded it stays on the record (the audit trail)."""
    row = await surplus.record_by_admin(session, principal, data)
    return surplus.patronage_public(row)


@router.get(
    "/patronage",
    summary="Patronage records",
    responses=problem_responses(400, 401, 403, 404),
)
async def list_patronage(
    session: SessionDep,
    principal: Reader,
    member_id: Annotated[uuid.UUID | None, Query()] = None,
    fiscal_year: Annotated[QueryInt | None, Query(ge=2000, le=2200)] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[PatronagePublic]:
    """Your patronage records (fees and dues paid, consult minutes, reversals); admins pass
    `member_id` for anyone's."""
    return await surplus.patronage_records(
        session, principal, member_id=member_id, year=fiscal_year, cursor=cursor, limit=limit
    )
