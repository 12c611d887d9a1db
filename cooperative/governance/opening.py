"""Opening a draft: the rule in force fixed, the window checked, the roll taken on the record
date, and the opening announced."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.bylaws.schema import VotingRule
from cooperative.bylaws.service import InForce
from cooperative.governance import notices, payloads, rules
from cooperative.governance.access import steers, visible
from cooperative.governance.drafting import good_cosigners
from cooperative.governance.errors import (
    AmendmentOutdated,
    CosignersMissing,
    EmptyRoll,
    NoRuleForKind,
    NoSeats,
    NotDraft,
)
from cooperative.governance.models import Proposal, ProposalEvent, ProposalVoter
from cooperative.governance.payloads import (
    AmendmentPayload,
    ElectionPayload,
    Payload,
    PrioritiesPayload,
)
from cooperative.governance.rules import ProposalEventKind, ProposalStatus, VotingWindow
from cooperative.governance.schemas import ProposalOpen
from cooperative.governance.sealing import BallotKeys
from cooperative.kernel import clock, moments
from cooperative.kernel.errors import Forbidden, Text
from cooperative.kernel.principal import Principal
from cooperative.membership import service as membership_service


async def open_voting(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    data: ProposalOpen,
    law: InForce,
    *,
    today: date,
    timezone: str,
    keys: BallotKeys,
    closing_soon: timedelta = timedelta(hours=24),
) -> Proposal:
    """Open a draft: fix the rule in force, take the roll on the record date, record it, and
    queue the roll's notices (opened, and closing soon `closing_soon` before the close)."""
    proposal = await _openable(session, principal, proposal_id, law, today=today)
    now = clock.now()
    window = rules.voting_window(
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        record_date=data.record_date,
        now=now,
        today=today,
    )
    if proposal.initiative:
        rules.check_initiative_window(
            window, today=today, min_hours=law.bylaws.governance.initiative_min_voting_hours
        )
    rule, payload = _under_the_rule(proposal, window, law)
    eligible, accounts = await _take_roll(
        session, proposal, payload, window, law, timezone=timezone
    )
    proposal.eligible = eligible
    proposal.payload = payloads.stored(payload)
    proposal.rule = rule.model_dump(mode="json")
    proposal.bylaws_version = law.number
    proposal.record_date = window.record_date
    proposal.opens_at = window.opens_at
    proposal.closes_at = window.closes_at
    proposal.opened_at = now
    proposal.seal_check = keys.of(proposal.id).check
    proposal.status = ProposalStatus.OPEN
    session.add(_opened(proposal, window, eligible))
    await notices.opened(
        session,
        proposal_id=proposal.id,
        title=proposal.title,
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        accounts=accounts,
        closing_soon=closing_soon,
    )
    await session.flush()
    return proposal


async def _openable(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    law: InForce,
    *,
    today: date,
) -> Proposal:
    """The draft, locked, if this principal may open it now (an initiative once co-signed)."""
    proposal = await visible(session, principal, proposal_id, lock=True)
    if proposal.status != ProposalStatus.DRAFT:
        raise NotDraft(status=proposal.status)
    if not steers(principal) and proposal.proposed_by != principal.account_id:
        raise Forbidden(
            reason=Text(
                "only the proposer, the board or an admin opens a proposal",
                "solo quien propone, el consejo o un administrador abren una propuesta",
            )
        )
    if proposal.initiative:
        needed = law.bylaws.governance.initiative_cosigners
        have = await good_cosigners(session, proposal, law, today=today)
        if have < needed:
            raise CosignersMissing(needed=needed, have=have)
    return proposal


def _under_the_rule(
    proposal: Proposal, window: VotingWindow, law: InForce
) -> tuple[VotingRule, Payload]:
    """The rule in force for the kind, and the payload completed with what it says: whether
    results wait for the close, each race's seats, how many priorities win."""
    payload = payloads.read(proposal)
    if isinstance(payload, AmendmentPayload):
        rules.check_takes_effect_after_close(payload.effective_from, window.closes_at)
        if payload.amends_version != law.number:
            raise AmendmentOutdated(version=law.number)
    rule = law.bylaws.governance.rules.get(proposal.kind)
    if rule is None:
        raise NoRuleForKind(kind=proposal.kind)
    opened: dict[str, Any] = {
        "results_hidden_until_close": law.bylaws.governance.results_hidden_until_close
    }
    if isinstance(payload, ElectionPayload):
        for name in payload.races:
            if rule.seats.get(name, 0) < 1:
                raise NoSeats(member_class=name)
        opened["races"] = {
            name: race.model_copy(update={"seats": rule.seats[name]})
            for name, race in payload.races.items()
        }
    if isinstance(payload, PrioritiesPayload):
        opened["top_n"] = rule.top_n or 1
    return rule, payload.model_copy(update=opened)


async def _take_roll(
    session: AsyncSession,
    proposal: Proposal,
    payload: Payload,
    window: VotingWindow,
    law: InForce,
    *,
    timezone: str,
) -> tuple[dict[str, int], list[uuid.UUID]]:
    """The roll: members in good standing on the record date (of the races' classes in an
    election), each written down; its size per class, and its members' accounts."""
    classes = set(payload.races) if isinstance(payload, ElectionPayload) else None
    voters = await membership_service.in_good_standing_on(
        session,
        day=window.record_date,
        timezone=timezone,
        grace_days=law.bylaws.dues.grace_days,
        classes=classes,
    )
    if not voters:
        raise EmptyRoll(record_date=window.record_date)
    for voter in voters:
        session.add(
            ProposalVoter(
                proposal_id=proposal.id,
                member_id=voter.member_id,
                account_id=voter.account_id,
                member_class=voter.member_class,
            )
        )
    counted = sorted(classes if classes is not None else set(law.bylaws.member_classes))
    eligible = {c: sum(v.member_class == c for v in voters) for c in counted}
    return eligible, [voter.account_id for voter in voters]


def _opened(proposal: Proposal, window: VotingWindow, eligible: dict[str, int]) -> ProposalEvent:
    return ProposalEvent(
        proposal_id=proposal.id,
        kind=ProposalEventKind.OPENED,
        data={
            "opens_at": moments.stored(window.opens_at),
            "closes_at": moments.stored(window.closes_at),
            "eligible": eligible,
        },
    )
