"""Whose patronage a household's dues are, and recording them: when a treasurer confirms a
payment, and when a dues run settles an invoice from a payment's credit (a prepaid credit is
not dues until it pays some)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.dues.models import Payment
from cooperative.kernel import clock
from cooperative.membership import households
from cooperative.membership.models import Household, HouseholdMember, Member
from cooperative.surplus import patronage


async def record_dues(
    session: AsyncSession, payment: Payment, paid_dues: int, *, year: int, source: str
) -> None:
    """`paid_dues` of `payment` settled a household's dues: its patron's patronage for `year`
    (or for this year, when `year` is already allocated). A share is capital, not patronage."""
    if payment.household_id is None or paid_dues <= 0:
        return
    patron = await _patron(session, payment.payer_account_id, payment.household_id)
    if patron is None:
        return
    if await patronage.year_is_posted(session, year):  # allocated already: it counts this year
        year = max(year, clock.today().year)
    await patronage.record(
        session,
        member_id=patron.id,
        year=year,
        kind="dues",
        amount=paid_dues,
        unit=payment.settled_currency,
        source=source,
    )


async def _patron(
    session: AsyncSession, reporter: uuid.UUID, household_id: uuid.UUID
) -> Member | None:
    """Whose patronage a household's dues are: the reporter's if they are a member-owner who
    manages the household (a covered member or the sponsor), else — when a treasurer recorded
    it at the desk — the sponsor's or else its first member-owner's."""
    household = await session.get(Household, household_id)
    assert household is not None
    if reporter in await households.managers(session, household):
        payer = await patronage.member_of_account(session, reporter)
        if payer is not None and payer.member_class in patronage.MONEY_CLASSES:
            return payer
    candidates = [household.sponsor_member_id] if household.sponsor_member_id else []
    candidates += list(
        (
            await session.execute(
                select(col(HouseholdMember.member_id))
                .where(
                    col(HouseholdMember.household_id) == household_id,
                    col(HouseholdMember.accepted_at).is_not(None),
                )
                .order_by(col(HouseholdMember.joined_at))
            )
        ).scalars()
    )
    for member_id in candidates:
        member = await session.get(Member, member_id)
        if (
            member is not None
            and member.status in patronage.PATRONS
            and member.member_class in patronage.MONEY_CLASSES
        ):
            return member
    return None
