"""The exchange-rate table: rows entered by a treasurer, and the rate in force on a day."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel.pagination import Page, page, paginate
from cooperative.treasury import rules
from cooperative.treasury.errors import LargeRateChange, RateDateOutOfRange
from cooperative.treasury.models import ExchangeRate
from cooperative.treasury.schemas import ExchangeRateCreate, ExchangeRatePublic


def rate_public(row: ExchangeRate) -> ExchangeRatePublic:
    return ExchangeRatePublic.model_validate(row, from_attributes=True)


async def in_force(
    session: AsyncSession, source: str, target: str, on: date
) -> ExchangeRate | None:
    """The row in force for `source`→`target` on `on`: the latest effective on or before that
    day; of rows for the same day, the last entered (a correction)."""
    return (
        await session.execute(
            select(ExchangeRate)
            .where(
                col(ExchangeRate.from_currency) == source,
                col(ExchangeRate.to_currency) == target,
                col(ExchangeRate.effective_on) <= on,
            )
            .order_by(
                col(ExchangeRate.effective_on).desc(),
                col(ExchangeRate.entered_at).desc(),
                col(ExchangeRate.id).desc(),
            )
            .limit(1)
        )
    ).scalar_one_or_none()


async def _reference(session: AsyncSession, data: ExchangeRateCreate) -> ExchangeRate | None:
    """What a new rate is compared with: the one in force on its day, or else the first later."""
    current = await in_force(session, data.from_currency, data.to_currency, data.effective_on)
    if current is not None:
        return current
    return (
        await session.execute(
            select(ExchangeRate)
            .where(
                col(ExchangeRate.from_currency) == data.from_currency,
                col(ExchangeRate.to_currency) == data.to_currency,
                col(ExchangeRate.effective_on) > data.effective_on,
            )
            .order_by(col(ExchangeRate.effective_on), col(ExchangeRate.entered_at).desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def record(
    session: AsyncSession, entered_by: uuid.UUID, data: ExchangeRateCreate, *, today: date
) -> ExchangeRate:
    """Append a rate to the table, within its bounds (see `rules`)."""
    if not rules.effective_date_allowed(data.effective_on, today):
        raise RateDateOutOfRange(
            earliest=rules.EARLIEST,
            latest=rules.latest_effective(today),
            days=rules.MAX_DAYS_AHEAD,
        )
    previous = await _reference(session, data)
    large = previous is not None and rules.is_large_change(Decimal(previous.rate), data.rate)
    if previous is not None and large and not data.confirm_large_change:
        raise LargeRateChange(
            rate=rules.normalized(data.rate),
            previous=previous.rate,
            percent=int(rules.LARGE_CHANGE * 100),
            source=data.from_currency,
            target=data.to_currency,
            on=previous.effective_on,
            extensions={"previous_rate": previous.rate, "previous_rate_id": str(previous.id)},
        )
    row = ExchangeRate(
        from_currency=data.from_currency,
        to_currency=data.to_currency,
        rate=rules.normalized(data.rate),
        effective_on=data.effective_on,
        note=data.note,
        large_change_confirmed=large,
        entered_by=entered_by,
    )
    session.add(row)
    await session.flush()
    return row


async def list_rates(
    session: AsyncSession,
    *,
    source: str | None,
    target: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[ExchangeRatePublic]:
    """Every row, the last entered first."""
    statement = select(ExchangeRate)
    if source is not None:
        statement = statement.where(col(ExchangeRate.from_currency) == source)
    if target is not None:
        statement = statement.where(col(ExchangeRate.to_currency) == target)
    rows = await paginate(
        session,
        statement,
        time_column=col(ExchangeRate.entered_at),
        id_column=col(ExchangeRate.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, rate_public)


async def get(session: AsyncSession, rate_id: uuid.UUID) -> ExchangeRate | None:
    return await session.get(ExchangeRate, rate_id)
