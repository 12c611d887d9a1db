"""Drafting a proposal, co-signing a member initiative, and the discussion around it."""

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.bylaws.service import InForce
from cooperative.governance import payloads, rules
from cooperative.governance.access import steers, visible
from cooperative.governance.errors import (
    AllocationRunNotDraft,
    CandidatesNotDistinct,
    NoRuleForKind,
    NoSeats,
    NotACandidate,
    NotDraft,
    OptionsNotDistinct,
)
from cooperative.governance.models import Proposal, ProposalComment, ProposalCosigner
from cooperative.governance.payloads import (
    AllocationPayload,
    AmendmentPayload,
    Candidate,
    ElectionPayload,
    Option,
    Payload,
    PrioritiesPayload,
    Race,
    ResolutionPayload,
)
from cooperative.governance.rules import ProposalStatus
from cooperative.governance.schemas import (
    AllocationCreate,
    AmendmentCreate,
    CommentCreate,
    CommentPublic,
    ElectionCreate,
    PrioritiesCreate,
    ProposalDraft,
)
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal
from cooperative.membership import service as membership_service
from cooperative.membership.rules import MemberStatus
from cooperative.surplus import service as surplus_service


async def create(
    session: AsyncSession, principal: Principal, data: ProposalDraft, law: InForce, *, today: date
) -> Proposal:
    """A draft by the board or an admin, or a member initiative by a member in good standing."""
    initiative = not steers(principal)
    if initiative and not await membership_service.in_good_standing(
        session, principal.account_id, law, today=today
    ):
        raise Forbidden(
            reason=Text(
                "only the board, an admin or a member in good standing proposes",
                "solo el consejo, un administrador o un socio al corriente proponen",
            )
        )
    if data.kind not in law.bylaws.governance.rules:
        raise NoRuleForKind(kind=data.kind)
    proposal = Proposal(
        kind=data.kind,
        title=data.title,
        body=data.body,
        payload=payloads.stored(await _payload(session, data, law)),
        proposed_by=principal.account_id,
        initiative=initiative,
    )
    session.add(proposal)
    await session.flush()
    return proposal


async def _payload(session: AsyncSession, data: ProposalDraft, law: InForce) -> Payload:
    """What the draft stores of its kind, checked against the bylaws and the books."""
    if isinstance(data, AmendmentCreate):
        rules.check_effective_from(data.effective_from, now=clock.now())
        return AmendmentPayload(
            document=data.document, effective_from=data.effective_from, amends_version=law.number
        )
    if isinstance(data, AllocationCreate):
        run = await surplus_service.draft_run(session, data.allocation_run_id)
        if run is None:
            raise AllocationRunNotDraft()
        return AllocationPayload(
            allocation_run_id=run.id, fiscal_year=run.fiscal_year, input_digest=run.input_digest
        )
    if isinstance(data, ElectionCreate):
        return ElectionPayload(races=await _races(session, data.candidates, law))
    if isinstance(data, PrioritiesCreate):
        return PrioritiesPayload(options=_options(data.options))
    return ResolutionPayload()


def _options(given: list[str]) -> list[Option]:
    labels = [label.strip() for label in given]
    if len(set(labels)) != len(labels) or "" in labels:
        raise OptionsNotDistinct()
    return [Option(id=str(i), label=label) for i, label in enumerate(labels, 1)]


async def _races(
    session: AsyncSession, candidates: dict[str, list[uuid.UUID]], law: InForce
) -> dict[str, Race]:
    """A race per class the bylaws elect seats for, of active members of that class."""
    seats = law.bylaws.governance.rules[rules.ProposalKind.BOARD_ELECTION].seats
    races: dict[str, Race] = {}
    for member_class, ids in sorted(candidates.items()):
        if member_class not in seats:
            raise NoSeats(member_class=member_class)
        if not ids or len(set(ids)) != len(ids):
            raise CandidatesNotDistinct(member_class=member_class)
        found = await membership_service.members_by_id(session, ids)
        for candidate in ids:
            member = found.get(candidate)
            if (
                member is None
                or member.member_class != member_class
                or member.status != MemberStatus.ACTIVE
            ):
                raise NotACandidate(candidate=candidate, member_class=member_class)
        races[member_class] = Race(
            candidates=[Candidate(id=str(c), name=found[c].full_name) for c in ids]
        )
    return races


async def cosign(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    law: InForce,
    *,
    today: date,
) -> int:
    """A member in good standing co-signs a member initiative (again is harmless)."""
    proposal = await visible(session, principal, proposal_id)
    if proposal.status != ProposalStatus.DRAFT:
        raise NotDraft(status=proposal.status)
    if not proposal.initiative:
        raise Forbidden(
            reason=Text(
                "only a member initiative is co-signed",
                "solo se firma como apoyo una iniciativa de socios",
            )
        )
    member = await membership_service.member_of(session, principal.account_id)
    if member is None or not await membership_service.in_good_standing(
        session, principal.account_id, law, today=today
    ):
        raise Forbidden(
            reason=Text(
                "only members in good standing co-sign",
                "solo los socios al corriente firman como apoyo",
            )
        )
    if proposal.proposed_by == principal.account_id:
        raise Forbidden(
            reason=Text(
                "the proposer does not co-sign their own initiative",
                "quien propone no firma como apoyo su propia iniciativa",
            )
        )
    try:
        async with session.begin_nested():
            session.add(ProposalCosigner(proposal_id=proposal.id, member_id=member.id))
    except IntegrityError:
        pass  # signed already
    return await good_cosigners(session, proposal, law, today=today)


async def good_cosigners(
    session: AsyncSession, proposal: Proposal, law: InForce, *, today: date
) -> int:
    """Co-signers still in good standing: a lapsed signature does not count."""
    signers = (
        await session.execute(
            select(col(ProposalCosigner.member_id)).where(
                col(ProposalCosigner.proposal_id) == proposal.id
            )
        )
    ).scalars()
    members = await membership_service.members_by_id(session, list(signers))
    good = 0
    for member in members.values():
        good += await membership_service.in_good_standing(
            session, member.account_id, law, today=today
        )
    return good


def comment_public(comment: ProposalComment) -> CommentPublic:
    return CommentPublic.model_validate(comment, from_attributes=True)


async def comment(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, data: CommentCreate
) -> ProposalComment:
    proposal = await visible(session, principal, proposal_id)
    account = await accounts_service.get(session, principal.account_id)
    if account is None:
        raise NotFound()
    row = ProposalComment(
        proposal_id=proposal.id,
        account_id=principal.account_id,
        author=account.display_name,
        body=data.body,
    )
    session.add(row)
    await session.flush()
    return row


async def comments(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[CommentPublic]:
    """The discussion of a proposal the principal may see, oldest first."""
    await visible(session, principal, proposal_id)
    rows = await paginate(
        session,
        select(ProposalComment).where(col(ProposalComment.proposal_id) == proposal_id),
        time_column=col(ProposalComment.created_at),
        id_column=col(ProposalComment.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, comment_public)
