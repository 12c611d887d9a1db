"""What is counted: the published ballot list after the close, and the running count before it
(the sealed ballots opened with the keys the vote opened with, never stored opened)."""

import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.governance import payloads
from cooperative.governance.errors import BallotsUnreadable
from cooperative.governance.models import Ballot, Proposal, SealedBallot
from cooperative.governance.sealing import BallotKeys, ProposalKeys

COUNTED = {"races", "options", "top_n"}  # what a recount needs of the kind's part


def head(proposal: Proposal) -> dict[str, Any]:
    """The part of `ballots.json` that says what was voted on and under which rule."""
    return {
        "id": str(proposal.id),
        "kind": proposal.kind,
        "title": proposal.title,
        "bylaws_version": proposal.bylaws_version,
        "record_date": proposal.record_date.isoformat() if proposal.record_date else None,
        "closes_at": proposal.closes_at.isoformat() if proposal.closes_at else None,
        "rule": proposal.rule,
        "eligible": proposal.eligible,
        **payloads.read(proposal).model_dump(mode="json", include=COUNTED),
    }


async def published(session: AsyncSession, proposal: Proposal) -> dict[str, Any]:
    """What `ballots.json` holds after the close: the rule, the roll's size, the choices and the
    ballots."""
    ballots = (
        await session.execute(
            select(Ballot)
            .where(col(Ballot.proposal_id) == proposal.id)
            .order_by(col(Ballot.receipt_hash))
        )
    ).scalars()
    return {
        "proposal": head(proposal),
        "ballots": [
            {"receipt_hash": b.receipt_hash, "member_class": b.member_class, "content": b.content}
            for b in ballots
        ],
    }


def keys_of(proposal: Proposal, keys: BallotKeys) -> ProposalKeys:
    """The keys the proposal's ballots are sealed with, if the server's secret is still the one
    it opened with; refused otherwise, before anything is sealed or counted."""
    sealer = keys.of(proposal.id)
    if proposal.seal_check is not None and not hmac.compare_digest(
        proposal.seal_check, sealer.check
    ):
        raise BallotsUnreadable()
    return sealer


async def running(session: AsyncSession, proposal: Proposal, *, keys: BallotKeys) -> dict[str, Any]:
    """What `ballots.json` would hold if the vote closed now: the sealed ballots opened (and any
    cast before ballots were sealed), in receipt-hash order. Nothing opened is stored."""
    sealer = keys_of(proposal, keys)
    sealed = (
        await session.execute(
            select(col(SealedBallot.lookup), col(SealedBallot.sealed)).where(
                col(SealedBallot.proposal_id) == proposal.id
            )
        )
    ).all()
    ballots = [
        {"receipt_hash": b.receipt_hash, "member_class": b.member_class, "content": b.content}
        for b in (sealer.unseal(lookup, blob) for lookup, blob in sealed)
    ]
    plain = await published(session, proposal)
    ballots.extend(plain["ballots"])
    ballots.sort(key=lambda b: str(b["receipt_hash"]))
    return {"proposal": plain["proposal"], "ballots": ballots}
