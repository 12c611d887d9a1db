"""Surplus allocation: patronage, allocation runs (`runs`), their posting to the journal
(`ledger`), notices of allocation and capital accounts. This module is what other domains and
the HTTP shell call.

A run is computed as a draft (as often as needed); the general assembly approves it through a
`surplus_allocation` proposal; only then is it posted, as one balanced journal entry written
once. A posted run is corrected by a reversing entry, after which the year may be computed again.
"""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.audit import service as audit
from cooperative.bylaws import service as bylaws_service
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal
from cooperative.membership import service as membership_service
from cooperative.surplus import patronage
from cooperative.surplus.errors import PatronageKind, PatronageUnit, RunPosted
from cooperative.surplus.ledger import (
    ApprovalOf,
    capital_account,
    entry_public,
    journal,
    post,
    reverse,
)
from cooperative.surplus.models import AllocationLine, AllocationRun, PatronageRecord
from cooperative.surplus.patronage import MINUTES, MONEY_CLASSES
from cooperative.surplus.rules import RunStatus
from cooperative.surplus.runs import (
    LINE_CHUNK,
    Progress,
    RunForVote,
    compute,
    draft_run,
    get_run,
    lines,
    list_runs,
    run_public,
    year_end,
)
from cooperative.surplus.schemas import PatronageCreate, PatronagePublic, RunPublic

__all__ = [
    "LINE_CHUNK",
    "ApprovalOf",
    "Progress",
    "RunForVote",
    "capital_account",
    "compute",
    "draft_run",
    "entry_public",
    "get_run",
    "journal",
    "lines",
    "list_runs",
    "notice_data",
    "patronage_public",
    "patronage_records",
    "post",
    "record_by_admin",
    "reverse",
    "run_public",
    "runs_of",
    "year_end",
]


async def notice_data(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID, member_id: uuid.UUID
) -> dict[str, Any]:
    """What a notice of allocation says, from the run and the member's line."""
    member = await membership_service.visible_member(session, principal, member_id)
    run = await get_run(session, run_id)
    if run.status == RunStatus.DRAFT and not principal.is_admin:
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


async def runs_of(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[RunPublic]:
    """Posted (and reversed) runs in which the account's member has a line, newest first."""
    member = await membership_service.member_of(session, account_id)
    if member is None:
        return Page(items=[], next_cursor=None)
    rows = await paginate(
        session,
        select(AllocationRun)
        .join(AllocationLine, col(AllocationLine.run_id) == col(AllocationRun.id))
        .where(
            col(AllocationLine.member_id) == member.id,
            col(AllocationRun.status).in_([RunStatus.POSTED, RunStatus.REVERSED]),
        ),
        time_column=col(AllocationRun.created_at),
        id_column=col(AllocationRun.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, run_public)


def patronage_public(record: PatronageRecord) -> PatronagePublic:
    return PatronagePublic.model_validate(record, from_attributes=True)


async def record_by_admin(
    session: AsyncSession, principal: Principal, data: PatronageCreate
) -> PatronageRecord:
    law = await bylaws_service.in_force(session)
    if data.kind not in law.bylaws.surplus.admin_patronage_kinds:
        raise PatronageKind(kind=data.kind)
    member = (await membership_service.members_by_id(session, [data.member_id])).get(data.member_id)
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
) -> Page[PatronagePublic]:
    """The patronage records of the principal's own membership, or of `member_id` if the
    principal may see that member."""
    if member_id is None:
        own = await patronage.member_of_account(session, principal.account_id)
        if own is None:
            return Page(items=[], next_cursor=None)
        member_id = own.id
    else:
        await membership_service.visible_member(session, principal, member_id)
    statement = select(PatronageRecord).where(col(PatronageRecord.member_id) == member_id)
    if year is not None:
        statement = statement.where(col(PatronageRecord.fiscal_year) == year)
    rows = await paginate(
        session,
        statement,
        time_column=col(PatronageRecord.created_at),
        id_column=col(PatronageRecord.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, patronage_public)
