"""Allocation runs: a year's patronage gathered and put through the bylaws waterfall, as a draft
recomputed as often as needed until the general assembly approves one and it is posted."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.schema import Waterfall
from cooperative.dues import service as dues_service
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.membership import service as membership_service
from cooperative.surplus import rules
from cooperative.surplus.errors import RateMissing, RunPosted
from cooperative.surplus.models import AllocationLine, AllocationRun, JournalLine, PatronageRecord
from cooperative.surplus.patronage import MINUTES, MONEY_CLASSES, PATRONS
from cooperative.surplus.rules import RunStatus
from cooperative.surplus.schemas import RunPublic

Progress = Callable[[int, int], None]
LINE_CHUNK = 5_000


def year_end(year: int, timezone: str) -> datetime:
    """The last instant of the fiscal year: the bylaws in force then govern its allocation."""
    return datetime(year + 1, 1, 1, tzinfo=ZoneInfo(timezone)) - timedelta(microseconds=1)


async def posted_run(session: AsyncSession, year: int) -> AllocationRun | None:
    return (
        await session.execute(
            select(AllocationRun).where(
                col(AllocationRun.fiscal_year) == year,
                col(AllocationRun.status) == RunStatus.POSTED,
            )
        )
    ).scalar_one_or_none()


async def patronage_of(
    session: AsyncSession,
    year: int,
    currency: str,
    rates: dict[str, Decimal],
    classes: set[str],
) -> list[rules.Patronage]:
    """Each member's patronage for the year in their class's unit: money (in `currency`,
    other currencies converted at the given year-end rate, rounded half up to the minor unit)
    for patients, consult minutes for doctors. Reversals are included, so they net out."""
    patrons = await membership_service.member_classes(session, statuses=PATRONS, classes=classes)
    rows = (
        await session.execute(
            select(
                col(PatronageRecord.member_id),
                col(PatronageRecord.unit),
                func.sum(col(PatronageRecord.amount)),
            )
            .where(col(PatronageRecord.fiscal_year) == year)
            .group_by(col(PatronageRecord.member_id), col(PatronageRecord.unit))
        )
    ).all()
    totals: dict[tuple[uuid.UUID, str], int] = {}
    for member_id, unit, amount in rows:
        member_class = patrons.get(member_id)
        if member_class is None:
            continue  # not a patron of a class the bylaws allocate to
        money = member_class in MONEY_CLASSES
        if money == (unit == MINUTES):
            continue  # not this class's kind of patronage
        value = _in_currency(int(amount), unit, currency, rates) if money else int(amount)
        key = (member_id, member_class)
        totals[key] = totals.get(key, 0) + value
    return [
        rules.Patronage(member_id=str(member_id), member_class=member_class, amount=max(0, value))
        for (member_id, member_class), value in totals.items()
    ]


def _in_currency(amount: int, unit: str, currency: str, rates: dict[str, Decimal]) -> int:
    """An amount paid in `unit`, in the run's currency at the year-end rate (half up)."""
    if unit == currency:
        return amount
    rate = rates.get(unit)
    if rate is None or not rate > 0:
        raise RateMissing(currency=unit, target=currency)
    exact = Fraction(rate) * amount
    return int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))


async def fund_balance(session: AsyncSession, account: str, currency: str) -> int:
    credit, debit = (
        await session.execute(
            select(
                func.coalesce(func.sum(col(JournalLine.credit_minor)), 0),
                func.coalesce(func.sum(col(JournalLine.debit_minor)), 0),
            ).where(col(JournalLine.account) == account, col(JournalLine.currency) == currency)
        )
    ).one()
    return int(credit) - int(debit)


def _policy(waterfall: Waterfall, currency: str) -> rules.Policy:
    """The bylaws' waterfall as the rules take it, each class's threshold in its own unit."""
    minimum = {str(code): amount for code, amount in waterfall.min_patronage_minor.items()}
    thresholds = {
        name: (
            minimum.get(currency, 0) if name in MONEY_CLASSES else waterfall.min_patronage_minutes
        )
        for name in waterfall.class_split_bp
    }
    return rules.Policy(
        reserve_bp=waterfall.reserve_bp,
        reserve_cap_bp_of_share_capital=waterfall.reserve_cap_bp_of_share_capital,
        education_bp=waterfall.education_bp,
        welfare_bp=waterfall.welfare_bp,
        class_split_bp=dict(waterfall.class_split_bp),
        min_cash_bp=waterfall.min_cash_bp,
        min_patronage=thresholds,
        redemption_years=waterfall.redemption_years,
    )


async def compute(
    session: AsyncSession,
    *,
    year: int,
    net_surplus_minor: int,
    currency: str,
    rates: dict[str, Decimal],
    timezone: str,
    account_id: uuid.UUID | None,
    progress: Progress | None = None,
) -> AllocationRun:
    """A draft run for the year under the bylaws in force at its end; refused once posted."""
    if await posted_run(session, year) is not None:
        raise RunPosted(year=year)
    law = await bylaws_service.in_force(session, year_end(year, timezone))
    waterfall = law.bylaws.surplus
    run_input = rules.RunInput(
        fiscal_year=year,
        currency=currency,
        net_surplus_minor=net_surplus_minor,
        reserve_balance_minor=await fund_balance(session, "reserve_fund", currency),
        paid_in_share_capital_minor=await dues_service.paid_in_share_capital(session, currency),
        bylaws_version=law.number,
        policy=_policy(waterfall, currency),
        patronage=await patronage_of(session, year, currency, rates, set(waterfall.class_split_bp)),
    )
    allocation = rules.allocate(run_input)
    run = AllocationRun(
        fiscal_year=year,
        currency=currency,
        net_surplus_minor=net_surplus_minor,
        rates={k: str(v) for k, v in sorted(rates.items())},
        bylaws_version=law.number,
        input_digest=allocation.input_digest,
        summary=_summary(allocation, run_input),
        members=len(allocation.members),
        created_by=account_id,
    )
    session.add(run)
    await session.flush()
    await _write_lines(session, run.id, allocation.members, progress)
    return run


def _summary(allocation: rules.Allocation, run_input: rules.RunInput) -> dict[str, Any]:
    """The run's funds and class pools, with the balances it started from (not its lines)."""
    summary = allocation.to_json()
    summary.pop("members")
    summary["reserve_balance_minor"] = run_input.reserve_balance_minor
    summary["paid_in_share_capital_minor"] = run_input.paid_in_share_capital_minor
    return summary


async def _write_lines(
    session: AsyncSession,
    run_id: uuid.UUID,
    lines: list[rules.MemberAllocation],
    progress: Progress | None,
) -> None:
    for start in range(0, len(lines), LINE_CHUNK):
        chunk = lines[start : start + LINE_CHUNK]
        await session.execute(
            insert(AllocationLine),
            [
                {
                    "run_id": run_id,
                    "member_id": uuid.UUID(m.member_id),
                    "member_class": m.member_class,
                    "patronage": m.patronage,
                    "eligible": m.eligible,
                    "share_minor": m.share_minor,
                    "cash_minor": m.cash_minor,
                    "retained_minor": m.retained_minor,
                    "redemption_year": m.redemption_year,
                }
                for m in chunk
            ],
        )
        if progress is not None:
            progress(start + len(chunk), len(lines))


async def get_run(session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False) -> AllocationRun:
    run = await session.get(AllocationRun, run_id, with_for_update=lock)
    if run is None:
        raise NotFound()
    return run


@dataclass(frozen=True, slots=True)
class RunForVote:
    """A draft run as a `surplus_allocation` proposal names it."""

    id: uuid.UUID
    fiscal_year: int
    input_digest: str


async def draft_run(session: AsyncSession, run_id: uuid.UUID) -> RunForVote | None:
    """The run, if it exists and is still a draft: what the assembly may be asked to approve."""
    run = await session.get(AllocationRun, run_id)
    if run is None or run.status != RunStatus.DRAFT:
        return None
    return RunForVote(id=run.id, fiscal_year=run.fiscal_year, input_digest=run.input_digest)


def run_public(run: AllocationRun) -> RunPublic:
    return RunPublic.model_validate(run, from_attributes=True)


async def list_runs(
    session: AsyncSession, *, year: int | None, cursor: str | None, limit: int | None
) -> Page[RunPublic]:
    """Every run (of the year, if given), newest first."""
    statement = select(AllocationRun)
    if year is not None:
        statement = statement.where(col(AllocationRun.fiscal_year) == year)
    rows = await paginate(
        session,
        statement,
        time_column=col(AllocationRun.created_at),
        id_column=col(AllocationRun.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, run_public)


async def lines(session: AsyncSession, run_id: uuid.UUID) -> list[AllocationLine]:
    return list(
        (
            await session.execute(
                select(AllocationLine)
                .where(col(AllocationLine.run_id) == run_id)
                .order_by(col(AllocationLine.member_id))
            )
        ).scalars()
    )
