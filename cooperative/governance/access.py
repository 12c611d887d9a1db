"""Who sees the cooperative's proposals, who steers them, and who is on a proposal's roll."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.governance.models import Proposal, ProposalVoter
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Principal, Role
from cooperative.membership import service as membership_service
from cooperative.membership.rules import MemberStatus


def steers(principal: Principal) -> bool:
    """The board and admins propose, open and close without co-signers."""
    return principal.is_admin or principal.has_role(Role.BOARD)


async def takes_part(session: AsyncSession, principal: Principal) -> bool:
    """The board, admins, and members admitted (active, or suspended but still members);
    not applicants, nor those rejected or withdrawn."""
    if steers(principal):
        return True
    member = await membership_service.member_of(session, principal.account_id)
    return member is not None and member.status in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED)


async def visible(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, lock: bool = False
) -> Proposal:
    """Members, the board and admins see the cooperative's proposals; nobody else."""
    if not await takes_part(session, principal):
        raise NotFound()
    proposal = await session.get(Proposal, proposal_id, with_for_update=lock)
    if proposal is None:
        raise NotFound()
    return proposal


async def voters_of(
    session: AsyncSession, proposal_ids: Sequence[uuid.UUID], account_id: uuid.UUID
) -> dict[uuid.UUID, ProposalVoter]:
    """The account's place on the roll of each of these proposals where it has one."""
    rows = await session.execute(
        select(ProposalVoter).where(
            col(ProposalVoter.proposal_id).in_(proposal_ids),
            col(ProposalVoter.account_id) == account_id,
        )
    )
    return {voter.proposal_id: voter for voter in rows.scalars()}


async def voter_of(
    session: AsyncSession, proposal_id: uuid.UUID, account_id: uuid.UUID
) -> ProposalVoter | None:
    return (
        await session.execute(
            select(ProposalVoter).where(
                col(ProposalVoter.proposal_id) == proposal_id,
                col(ProposalVoter.account_id) == account_id,
            )
        )
    ).scalar_one_or_none()
