"""Allocation runs: gather a year's patronage, run the bylaws waterfall, post it once.

A run is computed as a draft (as often as needed); the general assembly approves it through a
`surplus_allocation` proposal; only then is it posted, as one balanced journal entry written
once. A posted run is corrected by a reversing entry, after which the year may be computed again.
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.audit import service as audit
from cooperative.bylaws import service as bylaws_service
from cooperative.dues.models import Invoice
from cooperative.governance.models import Proposal
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import paginate
from cooperative.kernel.principal import Principal
from cooperative.membership import service as membership_service
from cooperative.membership.models import Member
from cooperative.surplus import patronage, rules
from cooperative.surplus.errors import (
    NotApproved,
    NotPosted,
    PatronageKind,
    PatronageUnit,
    RateMissing,
    RunNotDraft,
    RunPosted,
)
from cooperative.surplus.models import (
    AllocationLine,
    AllocationRun,
    JournalEntry,
    JournalLine,
    PatronageRecord,
)
from cooperative.surplus.patronage import MINUTES, MONEY_CLASSES, PATRONS
from cooperative.surplus.schemas import PatronageCreate

Progress = Callable[[int, int], None]
LINE_CHUNK = 5_000


def year_end(year: int, timezone: str) -> datetime:
    """The last instant of the fiscal year: the bylaws in force then govern its allocation."""
    return datetime(year + 1, 1, 1, tzinfo=ZoneInfo(timezone)) - timedelta(microseconds=1)


async def _posted(session: AsyncSession, year: int) -> AllocationRun | None:
    return (
        await session.execute(
            select(AllocationRun).where(
                col(AllocationRun.fiscal_year) == year, col(AllocationRun.status) == "posted"
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
    rows = (
        await session.execute(
            select(
                col(PatronageRecord.member_id),
                col(Member.member_class),
                col(PatronageRecord.unit),
                func.sum(col(PatronageRecord.amount)),
            )
            .join(Member, col(Member.id) == col(PatronageRecord.member_id))
            .where(
                col(PatronageRecord.fiscal_year) == year,
                col(Member.status).in_(PATRONS),
                col(Member.member_class).in_(sorted(classes)),
            )
            .group_by(
                col(PatronageRecord.member_id), col(Member.member_class), col(PatronageRecord.unit)
            )
        )
    ).all()
    totals: dict[tuple[uuid.UUID, str], int] = {}
    for member_id, member_class, unit, amount in rows:
        money = member_class in MONEY_CLASSES
        if money == (unit == MINUTES):
            continue  # not this class's kind of patronage
        value = int(amount)
        if money and unit != currency:
            rate = rates.get(unit)
            if rate is None or not rate > 0:
                raise RateMissing(currency=unit, target=currency)
            exact = Fraction(rate) * value
            value = int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))
        key = (member_id, member_class)
        totals[key] = totals.get(key, 0) + value
    return [
        rules.Patronage(member_id=str(member_id), member_class=member_class, amount=max(0, value))
        for (member_id, member_class), value in totals.items()
    ]


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


async def paid_in_share_capital(session: AsyncSession, currency: str) -> int:
    return int(
        (
            await session.execute(
                select(func.coalesce(func.sum(col(Invoice.paid_minor)), 0)).where(
                    col(Invoice.kind) == "share", col(Invoice.currency) == currency
                )
            )
        ).scalar_one()
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
    if await _posted(session, year) is not None:
        raise RunPosted(year=year)
    law = await bylaws_service.in_force(session, year_end(year, timezone))
    waterfall = law.bylaws.surplus
    minimum = {str(code): amount for code, amount in waterfall.min_patronage_minor.items()}
    thresholds = {
        name: (
            minimum.get(currency, 0) if name in MONEY_CLASSES else waterfall.min_patronage_minutes
        )
        for name in waterfall.class_split_bp
    }
    policy = rules.Policy(
        reserve_bp=waterfall.reserve_bp,
        reserve_cap_bp_of_share_capital=waterfall.reserve_cap_bp_of_share_capital,
        education_bp=waterfall.education_bp,
        welfare_bp=waterfall.welfare_bp,
        class_split_bp=dict(waterfall.class_split_bp),
        min_cash_bp=waterfall.min_cash_bp,
        min_patronage=thresholds,
        redemption_years=waterfall.redemption_years,
    )
    run_input = rules.RunInput(
        fiscal_year=year,
        currency=currency,
        net_surplus_minor=net_surplus_minor,
        reserve_balance_minor=await fund_balance(session, "reserve_fund", currency),
        paid_in_share_capital_minor=await paid_in_share_capital(session, currency),
        bylaws_version=law.number,
        policy=policy,
        patronage=await patronage_of(session, year, currency, rates, set(waterfall.class_split_bp)),
    )
    allocation = rules.allocate(run_input)
    summary = allocation.to_json()
    summary.pop("members")
    summary["reserve_balance_minor"] = run_input.reserve_balance_minor
    summary["paid_in_share_capital_minor"] = run_input.paid_in_share_capital_minor
    run = AllocationRun(
        fiscal_year=year,
        currency=currency,
        net_surplus_minor=net_surplus_minor,
        rates={k: str(v) for k, v in sorted(rates.items())},
        bylaws_version=law.number,
        input_digest=allocation.input_digest,
        summary=summary,
        members=len(allocation.members),
        created_by=account_id,
    )
    session.add(run)
    await session.flush()
    lines = allocation.members
    for start in range(0, len(lines), LINE_CHUNK):
        chunk = lines[start : start + LINE_CHUNK]
        await session.execute(
            insert(AllocationLine),
            [
                {
                    "run_id": run.id,
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
    return run


async def get_run(session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False) -> AllocationRun:
    run = await session.get(AllocationRun, run_id, with_for_update=lock)
    if run is None:
        raise NotFound()
    return run


async def list_runs(
    session: AsyncSession, *, year: int | None, cursor: str | None, limit: int | None
) -> tuple[list[AllocationRun], str | None]:
    statement = select(AllocationRun)
    if year is not None:
        statement = statement.where(col(AllocationRun.fiscal_year) == year)
    rows, next_cursor = await paginate(
        session,
        statement,
        time_column=col(AllocationRun.created_at),
        id_column=col(AllocationRun.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return list(rows), next_cursor


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


async def _approval(session: AsyncSession, run_id: uuid.UUID) -> Proposal:
    approved = (
        await session.execute(
            select(Proposal)
            .where(
                col(Proposal.kind) == "surplus_allocation",
                col(Proposal.status) == "closed",
                col(Proposal.passed).is_(True),
            )
            .order_by(col(Proposal.closed_at).desc())
        )
    ).scalars()
    for proposal in approved:
        if proposal.payload.get("allocation_run_id") == str(run_id):
            return proposal
    raise NotApproved()


def _journal_lines(
    run: AllocationRun, members: list[AllocationLine]
) -> list[tuple[str, uuid.UUID | None, int, int]]:
    """(account, member, debit, credit) of a run's posting; they balance exactly."""
    s = run.summary
    out: list[tuple[str, uuid.UUID | None, int, int]] = []
    if s["deficit"]:
        absorbed = -s["reserve_minor"]
        if absorbed:
            out += [("reserve_fund", None, absorbed, 0), ("net_surplus", None, 0, absorbed)]
        return out
    if run.net_surplus_minor == 0:
        return out  # a year that broke even: an entry with no lines records that it was closed
    out.append(("net_surplus", None, run.net_surplus_minor, 0))
    reserve = s["reserve_minor"] + s["unallocated_to_reserve_minor"]
    for account, amount in (
        ("reserve_fund", reserve),
        ("education_fund", s["education_minor"]),
        ("welfare_fund", s["welfare_minor"]),
    ):
        if amount:
            out.append((account, None, 0, amount))
    for line in members:
        if line.cash_minor:
            out.append(("cash_payable", line.member_id, 0, line.cash_minor))
        if line.retained_minor:
            out.append(("member_capital", line.member_id, 0, line.retained_minor))
    return out


async def post(session: AsyncSession, run_id: uuid.UUID, *, account_id: uuid.UUID) -> JournalEntry:
    """Post an approved draft: one balanced entry, exactly once (the run is locked, and the
    entry is unique per run, so a second or concurrent post writes nothing more)."""
    run = await get_run(session, run_id, lock=True)
    year = run.fiscal_year
    if run.status != "draft":
        raise RunNotDraft(status=run.status)
    proposal = await _approval(session, run.id)
    if await _posted(session, run.fiscal_year) is not None:
        raise RunPosted(year=run.fiscal_year)
    entry = JournalEntry(
        run_id=run.id,
        kind="allocation",
        memo=f"Surplus allocation {run.fiscal_year} (run {run.id}, proposal {proposal.id})",
        posted_by=account_id,
    )
    records = _journal_lines(run, await lines(session, run.id))
    assert sum(d for _, _, d, _ in records) == sum(c for _, _, _, c in records), "unbalanced"
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
            await _write_lines(session, entry.id, run.currency, records)
            run.status = "posted"
            run.posted_at = clock.now()
            run.proposal_id = proposal.id
    except IntegrityError as exc:  # another run of the year, or this one, got posted first
        raise RunPosted(year=year) from exc
    return entry


async def _write_lines(
    session: AsyncSession,
    entry_id: uuid.UUID,
    currency: str,
    records: list[tuple[str, uuid.UUID | None, int, int]],
) -> None:
    for start in range(0, len(records), LINE_CHUNK):
        await session.execute(
            insert(JournalLine),
            [
                {
                    "id": uuid.uuid4(),
                    "entry_id": entry_id,
                    "account": account,
                    "member_id": member_id,
                    "currency": currency,
                    "debit_minor": debit,
                    "credit_minor": credit,
                }
                for account, member_id, debit, credit in records[start : start + LINE_CHUNK]
            ],
        )


async def reverse(
    session: AsyncSession, run_id: uuid.UUID, *, account_id: uuid.UUID, reason: str
) -> JournalEntry:
    """Correct a posted run with an entry that mirrors its posting; the year is open again."""
    run = await get_run(session, run_id, lock=True)
    if run.status != "posted":
        raise NotPosted()
    original = (
        await session.execute(
            select(JournalEntry).where(
                col(JournalEntry.run_id) == run.id, col(JournalEntry.kind) == "allocation"
            )
        )
    ).scalar_one()
    posted = (
        await session.execute(select(JournalLine).where(col(JournalLine.entry_id) == original.id))
    ).scalars()
    entry = JournalEntry(
        run_id=run.id,
        kind="reversal",
        memo=f"Reversal of {original.id}: {reason}"[:500],
        reverses_id=original.id,
        posted_by=account_id,
    )
    session.add(entry)
    await session.flush()
    await _write_lines(
        session,
        entry.id,
        run.currency,
        [(line.account, line.member_id, line.credit_minor, line.debit_minor) for line in posted],
    )
    run.status = "reversed"
    run.reversed_at = clock.now()
    await session.flush()
    return entry


async def journal(
    session: AsyncSession, run_id: uuid.UUID
) -> list[tuple[JournalEntry, list[JournalLine]]]:
    entries = (
        await session.execute(
            select(JournalEntry)
            .where(col(JournalEntry.run_id) == run_id)
            .order_by(col(JournalEntry.posted_at))
        )
    ).scalars()
    out = []
    for entry in entries:
        entry_lines = (
            await session.execute(
                select(JournalLine)
                .where(col(JournalLine.entry_id) == entry.id)
                .order_by(col(JournalLine.account), col(JournalLine.member_id))
            )
        ).scalars()
        out.append((entry, list(entry_lines)))
    return out


async def capital_account(session: AsyncSession, member_id: uuid.UUID) -> dict[str, Any]:
    """The patronage refunds retained in a member's capital account, and the cash owed them,
    from the journal (posted allocations less reversals), per currency."""
    rows = (
        await session.execute(
            select(
                col(JournalLine.account),
                col(JournalLine.currency),
                func.sum(col(JournalLine.credit_minor) - col(JournalLine.debit_minor)),
            )
            .where(col(JournalLine.member_id) == member_id)
            .group_by(col(JournalLine.account), col(JournalLine.currency))
        )
    ).all()
    out: dict[str, Any] = {"retained": {}, "cash_payable": {}}
    for account, currency, amount in rows:
        out["retained" if account == "member_capital" else "cash_payable"][currency] = int(amount)
    return out


async def notice_data(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID, member_id: uuid.UUID
) -> dict[str, Any]:
    """What a notice of allocation says, from the run and the member's line."""
    member = await membership_service.visible_member(session, principal, member_id)
    run = await get_run(session, run_id)
    if run.status == "draft" and not principal.is_admin:
        raise NotFound()  # a member's notice exists once the assembly approved and it is posted
    line = await session.get(AllocationLine, (run.id, member.id))
    if line is None:
        raise NotFound()
    return {
        "member_name": member.full_name,
        "member_class": line.member_class,
        "money_patronage": line.member_class in MONEY_CLASSES,
        "run": {
            "fiscal_year": run.fiscal_year,
            "bylaws_version": run.bylaws_version,
            "proposal_id": str(run.proposal_id) if run.proposal_id else None,
            "status": run.status,
            "currency": run.currency,
        },
        "line": {
            "patronage": line.patronage,
            "eligible": line.eligible,
            "share_minor": line.share_minor,
            "cash_minor": line.cash_minor,
            "retained_minor": line.retained_minor,
            "redemption_year": line.redemption_year,
        },
    }


async def runs_of(session: AsyncSession, account_id: uuid.UUID) -> list[AllocationRun]:
    """Posted (and reversed) runs in which the account's member has a line, newest first."""
    return list(
        (
            await session.execute(
                select(AllocationRun)
                .join(AllocationLine, col(AllocationLine.run_id) == col(AllocationRun.id))
                .join(Member, col(Member.id) == col(AllocationLine.member_id))
                .where(
                    col(Member.account_id) == account_id,
                    col(AllocationRun.status).in_(["posted", "reversed"]),
                )
                .order_by(col(AllocationRun.fiscal_year).desc())
            )
        ).scalars()
    )


async def record_by_admin(
    session: AsyncSession, principal: Principal, data: PatronageCreate
) -> PatronageRecord:
    law = await bylaws_service.in_force(session)
    if data.kind not in law.bylaws.surplus.admin_patronage_kinds:
        raise PatronageKind(kind=data.kind)
    member = await session.get(Member, data.member_id)
    if member is None:
        raise NotFound()
    if await patronage.year_is_posted(session, data.fiscal_year):
        raise RunPosted(year=data.fiscal_year)
    expected_minutes = member.member_class not in MONEY_CLASSES
    if expected_minutes != (data.unit == MINUTES):
        raise PatronageUnit(member_class=member.member_class)
    row = await patronage.record(
        session,
        member_id=member.id,
        year=data.fiscal_year,
        kind=data.kind,
        amount=data.amount,
        unit=data.unit,
        source=f"admin:{uuid.uuid4()}",
        recorded_by=principal.account_id,
        note=data.note,
    )
    assert row is not None  # a fresh source is never a repeat
    await audit.record_access(
        session, [member.account_id], principal, resource=f"patronage:{row.id}"
    )
    return row


async def patronage_records(
    session: AsyncSession,
    principal: Principal,
    *,
    member_id: uuid.UUID | None,
    year: int | None,
    cursor: str | None,
    limit: int | None,
) -> tuple[list[PatronageRecord], str | None]:
    if member_id is None:
        own = await patronage.member_of_account(session, principal.account_id)
        if own is None:
            return [], None
        member_id = own.id
    else:
        await membership_service.visible_member(session, principal, member_id)
    statement = select(PatronageRecord).where(col(PatronageRecord.member_id) == member_id)
    if year is not None:
        statement = statement.where(col(PatronageRecord.fiscal_year) == year)
    rows, next_cursor = await paginate(
        session,
        statement,
        time_column=col(PatronageRecord.created_at),
        id_column=col(PatronageRecord.id),
        cursor=cursor,
        limit=limit,
    )
    return list(rows), next_cursor
