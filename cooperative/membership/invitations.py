"""Household invitations: they cover nothing and block nothing until the invited member
accepts; the member lists them, accepts or declines, and the household sees the answer."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page_async, paginate
from cooperative.kernel.principal import Principal
from cooperative.membership.errors import AlreadyInHousehold, DeclinedRecently
from cooperative.membership.households import join, visible
from cooperative.membership.models import Household, HouseholdInvitation, Member
from cooperative.membership.schemas import InvitationReceived
from cooperative.membership.service import household_of, member_of

PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"


async def add_member(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, member_id: uuid.UUID
) -> Household:
    """Cover another member. An admin's addition takes effect at once; a household's own
    invitation waits for the invited member to accept, so nobody is moved without consent, and
    it blocks nothing meanwhile. Whether the member is covered elsewhere is not the inviter's
    to know: the invitation is made either way."""
    household = await visible(session, principal, household_id, resource="household")
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound()
    if principal.is_admin:
        await join(session, household.id, member.id)
        return household
    if await household_of(session, member.id) == household.id:
        raise AlreadyInHousehold()
    await _not_declined_lately(session, household.id, member.id)
    try:
        async with session.begin_nested():
            session.add(
                HouseholdInvitation(
                    household_id=household.id, member_id=member.id, invited_by=principal.account_id
                )
            )
    except IntegrityError:
        pass  # already invited and not yet answered: once is enough
    return household


DECLINE_RESPITE = timedelta(days=90)


async def _not_declined_lately(
    session: AsyncSession, household_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """A declined invitation is not sent again for 90 days: invitations carry the household's
    name and the inviter's, and once served for threats sent again after each decline."""
    since = clock.now() - DECLINE_RESPITE
    last = (
        await session.execute(
            select(func.max(col(HouseholdInvitation.answered_at))).where(
                col(HouseholdInvitation.household_id) == household_id,
                col(HouseholdInvitation.member_id) == member_id,
                col(HouseholdInvitation.status) == DECLINED,
                col(HouseholdInvitation.answered_at) > since,
            )
        )
    ).scalar_one()
    if last is not None:
        until = clock.day_of(last + DECLINE_RESPITE)
        raise DeclinedRecently(until=until)


async def invitations_for(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[InvitationReceived]:
    """The caller's invitations waiting for an answer, with the household's name and place and
    who invited them (never its income, dependents or members)."""
    member = await member_of(session, principal.account_id)
    if member is None:
        return Page(items=[], next_cursor=None)
    rows = await paginate(
        session,
        select(HouseholdInvitation).where(
            col(HouseholdInvitation.member_id) == member.id,
            col(HouseholdInvitation.status) == PENDING,
        ),
        time_column=col(HouseholdInvitation.invited_at),
        id_column=col(HouseholdInvitation.id),
        cursor=cursor,
        limit=limit,
    )
    return await page_async(rows, lambda invitation: _received(session, invitation))


async def _received(session: AsyncSession, invitation: HouseholdInvitation) -> InvitationReceived:
    household = await session.get(Household, invitation.household_id)
    assert household is not None
    inviter = (
        await accounts_service.get(session, invitation.invited_by)
        if invitation.invited_by
        else None
    )
    return InvitationReceived(
        id=invitation.id,
        household_id=household.id,
        household_name=household.name,
        country=household.country,
        municipality=household.municipality,
        invited_by=inviter.display_name if inviter else None,
        invited_at=invitation.invited_at,
    )


async def _invitation_to(
    session: AsyncSession, principal: Principal, invitation_id: uuid.UUID
) -> tuple[HouseholdInvitation, Member]:
    """The caller's own invitation, locked; 404 for anyone else's or one withdrawn."""
    member = await member_of(session, principal.account_id)
    invitation = await session.get(HouseholdInvitation, invitation_id, with_for_update=True)
    if member is None or invitation is None or invitation.member_id != member.id:
        raise NotFound()
    return invitation, member


async def accept_invitation(
    session: AsyncSession, principal: Principal, invitation_id: uuid.UUID
) -> Household:
    """The invited member accepts: from now on the household covers them. While another
    household covers them they must leave it first (409): nobody's coverage, or the other
    household's, changes as a side effect."""
    invitation, member = await _invitation_to(session, principal, invitation_id)
    covering = await household_of(session, member.id)
    if invitation.status == ACCEPTED and covering == invitation.household_id:
        pass  # a retry from a flaky link
    elif invitation.status != PENDING:
        raise NotFound()
    elif covering is not None and covering != invitation.household_id:
        raise AlreadyInHousehold()
    else:
        if covering is None:
            await join(session, invitation.household_id, member.id)
        invitation.status, invitation.answered_at = ACCEPTED, clock.now()
        await session.flush()
    household = await session.get(Household, invitation.household_id)
    assert household is not None
    return household


async def decline_invitation(
    session: AsyncSession, principal: Principal, invitation_id: uuid.UUID
) -> None:
    """The invited member declines; the household sees that it was declined."""
    invitation, _ = await _invitation_to(session, principal, invitation_id)
    if invitation.status == ACCEPTED:
        raise NotFound()
    if invitation.status == PENDING:
        invitation.status, invitation.answered_at = DECLINED, clock.now()
        await session.flush()


async def withdraw_invitation(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """The household takes back an invitation not accepted: it is gone, and accepting it is
    then a 404."""
    household = await visible(session, principal, household_id, resource="household")
    invitation = await session.get(HouseholdInvitation, invitation_id, with_for_update=True)
    if (
        invitation is None
        or invitation.household_id != household.id
        or invitation.status == ACCEPTED
    ):
        raise NotFound()
    await session.delete(invitation)
    await session.flush()


async def ever_invited(
    session: AsyncSession, household_id: uuid.UUID, account_id: uuid.UUID
) -> bool:
    """Whether the account's member was invited into the household, answered or not (declined
    invitations aside): who keeps the books must not decide on money of a household they are
    joining or have left."""
    found = await session.execute(
        select(col(HouseholdInvitation.id))
        .join(Member, col(Member.id) == col(HouseholdInvitation.member_id))
        .where(
            col(HouseholdInvitation.household_id) == household_id,
            col(Member.account_id) == account_id,
            col(HouseholdInvitation.status) != "declined",
        )
        .limit(1)
    )
    return found.first() is not None
