"""The journal: an approved run posted once as one balanced entry, a posting corrected only by a
reversing entry, and each member's capital account read back from it."""

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.kernel.pagination import Page, page_async, paginate
from cooperative.surplus.errors import NotApproved, NotPosted, RunNotDraft, RunPosted
from cooperative.surplus.models import AllocationLine, AllocationRun, JournalEntry, JournalLine
from cooperative.surplus.rules import JournalKind, RunStatus
from cooperative.surplus.runs import LINE_CHUNK, get_run, lines, posted_run
from cooperative.surplus.schemas import CapitalAccountPublic, JournalEntryPublic, JournalLinePublic

ApprovalOf = Callable[[AsyncSession, uuid.UUID], Awaitable[uuid.UUID | None]]
"""Whether the general assembly approved a run: the approving proposal's id, or None. Surplus
does not read governance: the shell hands it governance's answer (`service.approval_of`)."""

Record = tuple[str, uuid.UUID | None, int, int]
"""A journal line to write: (account, member, debit, credit)."""


def _journal_lines(run: AllocationRun, members: list[AllocationLine]) -> list[Record]:
    """The lines of a run's posting; they balance exactly."""
    s = run.summary
    out: list[Record] = []
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


async def post(
    session: AsyncSession,
    run_id: uuid.UUID,
    *,
    account_id: uuid.UUID,
    approval_of: ApprovalOf,
) -> JournalEntry:
    """Post an approved draft: one balanced entry, exactly once (the run is locked, and the
    entry is unique per run, so a second or concurrent post writes nothing more)."""
    run = await get_run(session, run_id, lock=True)
    year = run.fiscal_year
    if run.status != RunStatus.DRAFT:
        raise RunNotDraft(status=run.status)
    proposal_id = await approval_of(session, run.id)
    if proposal_id is None:
        raise NotApproved()
    if await posted_run(session, run.fiscal_year) is not None:
        raise RunPosted(year=run.fiscal_year)
    entry = JournalEntry(
        run_id=run.id,
        kind=JournalKind.ALLOCATION,
        memo=f"Surplus allocation {run.fiscal_year} (run {run.id}, proposal {proposal_id})",
        posted_by=account_id,
    )
    records = _journal_lines(run, await lines(session, run.id))
    assert sum(d for _, _, d, _ in records) == sum(c for _, _, _, c in records), "unbalanced"
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
            await _write_lines(session, entry.id, run.currency, records)
            run.status = RunStatus.POSTED
            run.posted_at = clock.now()
            run.proposal_id = proposal_id
    except IntegrityError as exc:  # another run of the year, or this one, got posted first
        raise RunPosted(year=year) from exc
    return entry


async def _write_lines(
    session: AsyncSession, entry_id: uuid.UUID, currency: str, records: list[Record]
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
    if run.status != RunStatus.POSTED:
        raise NotPosted()
    original = (
        await session.execute(
            select(JournalEntry).where(
                col(JournalEntry.run_id) == run.id,
                col(JournalEntry.kind) == JournalKind.ALLOCATION,
            )
        )
    ).scalar_one()
    posted = (
        await session.execute(select(JournalLine).where(col(JournalLine.entry_id) == original.id))
    ).scalars()
    entry = JournalEntry(
        run_id=run.id,
        kind=JournalKind.REVERSAL,
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
    run.status = RunStatus.REVERSED
    run.reversed_at = clock.now()
    await session.flush()
    return entry


async def entry_public(session: AsyncSession, entry: JournalEntry) -> JournalEntryPublic:
    """The journal entry with its lines, by account and member."""
    entry_lines = (
        await session.execute(
            select(JournalLine)
            .where(col(JournalLine.entry_id) == entry.id)
            .order_by(col(JournalLine.account), col(JournalLine.member_id))
        )
    ).scalars()
    return JournalEntryPublic(
        id=entry.id,
        kind=entry.kind,
        memo=entry.memo,
        reverses_id=entry.reverses_id,
        posted_at=entry.posted_at,
        lines=[JournalLinePublic.model_validate(x, from_attributes=True) for x in entry_lines],
    )


async def journal(
    session: AsyncSession, run_id: uuid.UUID, *, cursor: str | None = None, limit: int | None = None
) -> Page[JournalEntryPublic]:
    """The run's entries, oldest first: its posting and any reversal, each with its lines."""
    rows = await paginate(
        session,
        select(JournalEntry).where(col(JournalEntry.run_id) == run_id),
        time_column=col(JournalEntry.posted_at),
        id_column=col(JournalEntry.id),
        cursor=cursor,
        limit=limit,
    )
    return await page_async(rows, lambda entry: entry_public(session, entry))


async def capital_account(session: AsyncSession, member_id: uuid.UUID) -> CapitalAccountPublic:
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
    retained: dict[str, int] = {}
    cash_payable: dict[str, int] = {}
    for account, currency, amount in rows:
        (retained if account == "member_capital" else cash_payable)[currency] = int(amount)
    return CapitalAccountPublic(member_id=member_id, retained=retained, cash_payable=cash_payable)
