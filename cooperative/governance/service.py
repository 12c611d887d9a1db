"""Proposals through their life: drafted and co-signed (`drafting`), opened with the roll
(`opening`), cast on (`ballots`), closed with the tally (`closing`). This module is what other
domains and the HTTP shell call: the use cases, the listing, the view of one proposal, and for
surplus whether the assembly approved an allocation run.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.bylaws.service import InForce
from cooperative.governance import payloads
from cooperative.governance.access import steers, takes_part, visible, voter_of, voters_of
from cooperative.governance.closing import (
    close_due,
    close_if_due,
    close_now,
    closed_in,
    mark_scrubbed,
    sweep,
    unscrubbed,
)
from cooperative.governance.counting import keys_of, published, running
from cooperative.governance.drafting import comment, comment_public, comments, cosign, create
from cooperative.governance.models import Proposal, ProposalCosigner, ProposalEvent, ProposalVoter
from cooperative.governance.opening import open_voting
from cooperative.governance.payloads import AllocationPayload
from cooperative.governance.rules import ProposalKind, ProposalStatus
from cooperative.governance.schemas import ProposalEventPublic, ProposalPublic, Turnout, YourPart
from cooperative.governance.sealing import BallotKeys
from cooperative.kernel import moments
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal

__all__ = [
    "approval_of",
    "close_due",
    "close_if_due",
    "close_now",
    "closed_in",
    "comment",
    "comment_public",
    "comments",
    "cosign",
    "create",
    "event_public",
    "events",
    "keys_of",
    "list_proposals",
    "mark_scrubbed",
    "open_voting",
    "public",
    "published",
    "running",
    "steers",
    "sweep",
    "unscrubbed",
    "visible",
    "voter_of",
]


async def list_proposals(
    session: AsyncSession,
    principal: Principal,
    *,
    status: ProposalStatus | None,
    kind: ProposalKind | None,
    cursor: str | None,
    limit: int | None,
    keys: BallotKeys,
) -> tuple[list[Proposal], str | None]:
    if not await takes_part(session, principal):
        return [], None
    await close_due(session, keys=keys)  # so that a status filter sees each as it now stands
    statement = select(Proposal)
    if status is not None:
        statement = statement.where(col(Proposal.status) == status)
    if kind is not None:
        statement = statement.where(col(Proposal.kind) == kind)
    rows, next_cursor = await paginate(
        session,
        statement,
        time_column=col(Proposal.created_at),
        id_column=col(Proposal.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return list(rows), next_cursor


async def public(
    session: AsyncSession, principal: Principal, proposal: Proposal, law: InForce
) -> ProposalPublic:
    return (await public_many(session, principal, [proposal], law))[0]


async def public_many(
    session: AsyncSession, principal: Principal, found: Sequence[Proposal], law: InForce
) -> list[ProposalPublic]:
    """Proposals as members see them, with their cosigners, turnout by class and the caller's
    own part: three statements for any number of proposals (not three a proposal)."""
    ids = [proposal.id for proposal in found]
    cosigners: dict[uuid.UUID, int] = {
        proposal_id: count
        for proposal_id, count in await session.execute(
            select(col(ProposalCosigner.proposal_id), func.count())
            .where(col(ProposalCosigner.proposal_id).in_(ids))
            .group_by(col(ProposalCosigner.proposal_id))
        )
    }
    turnouts = await _turnouts(
        session, principal, [p for p in found if p.status != ProposalStatus.DRAFT]
    )
    return [
        ProposalPublic(
            id=proposal.id,
            kind=proposal.kind,
            status=ProposalStatus(proposal.status),
            title=proposal.title,
            body=proposal.body,
            payload=dict(proposal.payload),
            initiative=proposal.initiative,
            cosigners=cosigners.get(proposal.id, 0),
            cosigners_needed=(
                law.bylaws.governance.initiative_cosigners if proposal.initiative else 0
            ),
            opens_at=proposal.opens_at,
            closes_at=proposal.closes_at,
            record_date=proposal.record_date,
            bylaws_version=proposal.bylaws_version,
            rule=proposal.rule,
            turnout=turnouts[proposal.id][0] if proposal.id in turnouts else None,
            you=turnouts[proposal.id][1] if proposal.id in turnouts else None,
            passed=proposal.passed,
            adopted_bylaws_version=proposal.adopted_bylaws_version,
            created_at=proposal.created_at,
            closed_at=proposal.closed_at,
        )
        for proposal in found
    ]


async def _turnouts(
    session: AsyncSession, principal: Principal, found: Sequence[Proposal]
) -> dict[uuid.UUID, tuple[Turnout, YourPart]]:
    """For each proposal past its draft: how many of each class voted against the roll's
    size, and the caller's own part (two statements for them all)."""
    if not found:
        return {}
    ids = [proposal.id for proposal in found]
    voted: dict[tuple[uuid.UUID, str], int] = {
        (proposal_id, member_class): count
        for proposal_id, member_class, count in await session.execute(
            select(col(ProposalVoter.proposal_id), col(ProposalVoter.member_class), func.count())
            .where(col(ProposalVoter.proposal_id).in_(ids), col(ProposalVoter.voted))
            .group_by(col(ProposalVoter.proposal_id), col(ProposalVoter.member_class))
        )
    }
    mine = await voters_of(session, ids, principal.account_id)
    turnouts = {}
    for proposal in found:
        eligible = proposal.eligible or {}
        voter = mine.get(proposal.id)
        you = YourPart(
            eligible=voter is not None,
            member_class=voter.member_class if voter else None,
            voted=bool(voter and voter.voted),
        )
        counted = {c: voted.get((proposal.id, c), 0) for c in eligible}
        turnouts[proposal.id] = (Turnout(eligible=eligible, voted=counted), you)
    return turnouts


def event_public(event: ProposalEvent) -> ProposalEventPublic:
    return ProposalEventPublic(
        kind=event.kind,
        at=event.at,
        data=moments.payload_shown(event.data, frozenset({"opens_at", "closes_at"})),
    )


async def events(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    *,
    keys: BallotKeys,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[ProposalEventPublic]:
    """A proposal's events, oldest first, once those its time brought are recorded."""
    await close_if_due(session, await visible(session, principal, proposal_id), keys=keys)
    rows = await paginate(
        session,
        select(ProposalEvent).where(col(ProposalEvent.proposal_id) == proposal_id),
        time_column=col(ProposalEvent.at),
        id_column=col(ProposalEvent.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, event_public)


async def approval_of(session: AsyncSession, run_id: uuid.UUID) -> uuid.UUID | None:
    """The proposal by which the general assembly approved this allocation run (the latest
    passed `surplus_allocation` naming it), if one did."""
    approved = (
        await session.execute(
            select(Proposal)
            .where(
                col(Proposal.kind) == ProposalKind.SURPLUS_ALLOCATION,
                col(Proposal.status) == ProposalStatus.CLOSED,
                col(Proposal.passed).is_(True),
            )
            .order_by(col(Proposal.closed_at).desc())
        )
    ).scalars()
    for proposal in approved:
        payload = payloads.read(proposal)
        if isinstance(payload, AllocationPayload) and payload.allocation_run_id == run_id:
            return proposal.id
    return None
