"""Dues invoices and dues runs."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.auth import AdminPrincipal, require_scopes
from app.context import TodayDep
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.dues import service as dues_service
from cooperative.dues.schemas import DuesRunCreate, DuesRunPublic, InvoicePublic
from cooperative.kernel.principal import Principal, Scope
from cooperative.kernel.schemas import QueryBool
from cooperative.membership import billing
from cooperative.treasury import payments as treasury_payments

router = APIRouter(prefix="/v1/dues", tags=["dues"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]


@router.get("", summary="Invoices", responses=problem_responses(400, 401, 403))
async def list_invoices(
    session: SessionDep,
    principal: Reader,
    household_id: Annotated[uuid.UUID | None, Query()] = None,
    kind: Annotated[Literal["dues", "share"] | None, Query()] = None,
    period: Annotated[str | None, Query(max_length=16)] = None,
    unpaid: Annotated[QueryBool, Query(description="Only invoices not fully paid.")] = False,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[InvoicePublic]:
    """Dues of the households you live in or sponsor and your share instalments; all for admins."""
    households, members = await billing.visible_scope(session, principal)
    return await dues_service.list_invoices(
        session,
        households=households,
        members=members,
        household_id=household_id,
        kind=kind,
        period=period,
        unpaid_only=unpaid,
        cursor=cursor,
        limit=limit,
    )


@router.post(
    "/runs",
    summary="Issue a period's dues (admin)",
    responses=problem_responses(401, 403, 409, 422),
)
async def run(
    session: SessionDep, principal: AdminPrincipal, today: TodayDep, data: DuesRunCreate
) -> DuesRunPublic:
    """Invoice every household covering or sponsored by an active member for `period`
    (`YYYY-MM`), under the bylaws in force on the period's first day. Each household is priced
    by its fee class on the day of the run (on the period's first day for a run made ahead of
    it), so an income attestation made before the run counts. Idempotent: running a period
    again issues nothing new. Households that cannot be priced (no poverty line in force then)
    are listed in `skipped`."""
    return await treasury_payments.dues_run(session, data.period, today=today)
