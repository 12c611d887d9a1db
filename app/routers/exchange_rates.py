"""The treasurer's exchange-rate table: dated, bounded, append-only; readable by members."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth import require_scopes
from app.context import TodayDep
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.kernel.errors import NotFound
from cooperative.kernel.money import Currency
from cooperative.kernel.principal import Principal, Scope
from cooperative.kernel.schemas import IsoDate
from cooperative.treasury import service as treasury
from cooperative.treasury.schemas import ExchangeRateCreate, ExchangeRatePublic

router = APIRouter(prefix="/v1/exchange-rates", tags=["payments"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]
Treasurer = Annotated[Principal, require_scopes(Scope.PAYMENTS_CONFIRM)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record an exchange rate (treasurer)",
    responses=problem_responses(401, 403, 422),
)
async def record(
    session: SessionDep, principal: Treasurer, today: TodayDep, data: ExchangeRateCreate
) -> ExchangeRatePublic:
    """Add a row to the rate table: `rate` units of `to_currency` per `from_currency` unit, in
    force from `effective_on` until a later row for the pair. Payments in `from_currency` for
    something owed in `to_currency` are converted at the rate in force on the day the money was
    received. Rows are never edited or deleted: to correct one, record a new row for the same
    day (the last entered wins). A rate more than 20% from the one in force needs
    `confirm_large_change: true`. Who entered it, and when, is recorded."""
    return treasury.rate_public(
        await treasury.record(session, principal.account_id, data, today=today)
    )


@router.get("", summary="Exchange rates", responses=problem_responses(400, 401, 403, 422))
async def list_rates(
    session: SessionDep,
    _: Reader,
    from_currency: Annotated[Currency | None, Query()] = None,
    to_currency: Annotated[Currency | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ExchangeRatePublic]:
    """Every row of the table, the last entered first (rates are not secret)."""
    return await treasury.list_rates(
        session, source=from_currency, target=to_currency, cursor=cursor, limit=limit
    )


@router.get(
    "/in-force",
    summary="The rate in force on a day",
    responses=problem_responses(401, 403, 404, 422),
)
async def in_force(
    session: SessionDep,
    _: Reader,
    today: TodayDep,
    from_currency: Annotated[Currency, Query()],
    to_currency: Annotated[Currency, Query()],
    on: Annotated[IsoDate | None, Query(description="Default: today (the cooperative's).")] = None,
) -> ExchangeRatePublic:
    """The row a payment received on `on` would be converted at; 404 if there is none."""
    row = await treasury.in_force(session, from_currency, to_currency, on or today)
    if row is None:
        raise NotFound()
    return treasury.rate_public(row)


@router.get("/{rate_id}", summary="An exchange rate", responses=problem_responses(401, 403, 404))
async def get_rate(session: SessionDep, _: Reader, rate_id: uuid.UUID) -> ExchangeRatePublic:
    """One row of the table (a payment names the row it was converted at)."""
    row = await treasury.get(session, rate_id)
    if row is None:
        raise NotFound()
    return treasury.rate_public(row)
