"""The roll of a proposal: members in good standing on its record date, with their class."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.dues.models import Invoice
from cooperative.membership.models import HouseholdMember, Member
from cooperative.membership.rules import MemberStatus


@dataclass(frozen=True, slots=True)
class Voter:
    member_id: uuid.UUID
    account_id: uuid.UUID
    member_class: str


def end_of(day: date, timezone: str) -> datetime:
    """The first instant after `day` in the cooperative's time zone."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(timezone))


async def eligible(
    session: AsyncSession,
    *,
    record_date: date,
    timezone: str,
    grace_days: int,
    classes: set[str] | None = None,
) -> list[Voter]:
    """Active members admitted by the end of the record date with nothing (of theirs or their
    household's) unpaid more than `grace_days` past due on that date: the same good standing that
    booking uses, read on the record date. Only `classes` when given (an election's races)."""
    statement = select(Member).where(
        col(Member.status) == MemberStatus.ACTIVE,
        col(Member.decided_at).is_not(None),
        col(Member.decided_at) < end_of(record_date, timezone),
    )
    if classes is not None:
        statement = statement.where(col(Member.member_class).in_(sorted(classes)))
    members = list((await session.execute(statement)).scalars())
    overdue_before = record_date - timedelta(days=grace_days)
    owing = (
        await session.execute(
            select(col(Invoice.member_id), col(Invoice.household_id)).where(
                col(Invoice.amount_minor) > col(Invoice.paid_minor),
                col(Invoice.due_on) < overdue_before,
                or_(col(Invoice.member_id).is_not(None), col(Invoice.household_id).is_not(None)),
            )
        )
    ).all()
    owing_members = {m for m, _ in owing if m is not None}
    owing_households = {h for _, h in owing if h is not None}
    households = dict(
        (
            await session.execute(
                select(col(HouseholdMember.member_id), col(HouseholdMember.household_id)).where(
                    col(HouseholdMember.accepted_at).is_not(None)
                )
            )
        ).all()
    )
    return [
        Voter(m.id, m.account_id, m.member_class)
        for m in members
        if m.id not in owing_members and households.get(m.id) not in owing_households
    ]
