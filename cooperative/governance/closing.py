"""Closing a vote: once, when its time has passed, in whichever transaction gets there first (a
request about the proposal, a listing, or the app's sweeper). The close locks the proposal, opens
the sealed ballots, counts them with the same `rules.tally` anyone can rerun on the published
list, publishes them, and for a passed amendment installs the new bylaws version. Once a close has
committed, the shell makes the database files forget what the casts wrote (`closed_in`,
`unscrubbed`, `mark_scrubbed`).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.bylaws import service as bylaws_service
from cooperative.governance import notices, payloads, rules
from cooperative.governance.access import steers, visible
from cooperative.governance.counting import running
from cooperative.governance.errors import NotOpen
from cooperative.governance.models import (
    Ballot,
    Proposal,
    ProposalEvent,
    ProposalVoter,
    SealedBallot,
)
from cooperative.governance.payloads import AmendmentPayload
from cooperative.governance.rules import ProposalEventKind, ProposalStatus
from cooperative.governance.sealing import BallotKeys
from cooperative.kernel import clock, moments
from cooperative.kernel.errors import Forbidden, Text
from cooperative.kernel.principal import Principal
from cooperative.webhooks import service as webhooks
from cooperative.webhooks.rules import EventType

CLOSED_HERE = "tequio.governance.closed"  # in `session.info`: a vote closed in this transaction


async def close_now(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, keys: BallotKeys
) -> Proposal:
    """The board or an admin closes voting now (the assembly ended early); the close is final."""
    if not steers(principal):
        raise Forbidden(
            reason=Text(
                "only the board or an admin closes a vote early",
                "solo el consejo o un administrador cierran antes una votación",
            )
        )
    proposal = await visible(session, principal, proposal_id, lock=True)
    if proposal.status == ProposalStatus.DRAFT:
        raise NotOpen(status=proposal.status)
    if proposal.status == ProposalStatus.OPEN:
        now = clock.now()
        if proposal.closes_at is None or proposal.closes_at > now:
            proposal.closes_at = now
        await _close(session, proposal, keys)
    return proposal


async def close_if_due(session: AsyncSession, proposal: Proposal, *, keys: BallotKeys) -> Proposal:
    """Close an open proposal whose time is up (once, whoever comes first)."""
    if (
        proposal.status == ProposalStatus.OPEN
        and proposal.closes_at is not None
        and proposal.closes_at <= clock.now()
    ):
        locked = await session.get(
            Proposal, proposal.id, with_for_update=True, populate_existing=True
        )
        assert locked is not None
        if locked.status == ProposalStatus.OPEN:
            await _close(session, locked, keys)
        return locked
    return proposal


async def close_due(session: AsyncSession, *, keys: BallotKeys) -> tuple[int, list[uuid.UUID]]:
    """Close every open proposal whose time is up, each in its own savepoint so that one that
    cannot close does not hold up the others; how many closed, and the ids that failed."""
    due = (
        await session.execute(
            select(Proposal).where(
                col(Proposal.status) == ProposalStatus.OPEN,
                col(Proposal.closes_at) <= clock.now(),
            )
        )
    ).scalars()
    closed, failed = 0, []
    for proposal in list(due):
        try:
            async with session.begin_nested():
                closing = await close_if_due(session, proposal, keys=keys)
                closed += closing.status == ProposalStatus.CLOSED
        except Exception:  # reported to the caller; the next pass tries again
            failed.append(proposal.id)
    return closed, failed


async def sweep(
    session: AsyncSession, *, closing_soon: timedelta, keys: BallotKeys
) -> tuple[int, list[uuid.UUID]]:
    """Close what is due and announce what closes soon; what closed and what could not."""
    now = clock.now()
    closed, failed = await close_due(session, keys=keys)
    soon = (
        await session.execute(
            update(Proposal)
            .where(
                col(Proposal.status) == ProposalStatus.OPEN,
                col(Proposal.closing_soon_at).is_(None),
                col(Proposal.closes_at) <= now + closing_soon,
            )
            .values(closing_soon_at=now)
            .returning(col(Proposal.id), col(Proposal.closes_at))
        )
    ).all()
    for proposal_id, closes_at in soon:
        session.add(
            ProposalEvent(
                proposal_id=proposal_id,
                kind=ProposalEventKind.CLOSING_SOON,
                data={"closes_at": moments.stored(closes_at) if closes_at else None},
            )
        )
    await session.flush()
    return closed, failed


async def _close(session: AsyncSession, proposal: Proposal, keys: BallotKeys) -> None:
    now = clock.now()
    count = await running(session, proposal, keys=keys)
    result = rules.tally(count)
    roll = await _reshuffle(session, proposal.id, count["ballots"])
    proposal.result = result
    proposal.passed = bool(result["passed"])
    proposal.status = ProposalStatus.CLOSED
    proposal.closed_at = now
    payload = payloads.read(proposal)
    if isinstance(payload, AmendmentPayload) and proposal.passed:
        proposal.adopted_bylaws_version = await _adopt(session, proposal, payload, now)
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            kind=ProposalEventKind.RESULT,
            data={
                "passed": proposal.passed,
                "adopted_bylaws_version": proposal.adopted_bylaws_version,
            },
        )
    )
    await notices.closed(
        session,
        proposal_id=proposal.id,
        title=proposal.title,
        accounts=[voter["account_id"] for voter in roll],
    )
    # apps hear of the result however the vote closed: by hand, on the first read after its
    # time, or in the sweep (the id, status and times only; the result is read through the API)
    await webhooks.emit(
        session,
        EventType.PROPOSAL_RESULT,
        {"id": proposal.id, "status": proposal.status, "closes_at": proposal.closes_at},
    )
    await session.flush()
    session.info[CLOSED_HERE] = True


async def _adopt(
    session: AsyncSession, proposal: Proposal, amendment: AmendmentPayload, now: datetime
) -> int:
    """The amended bylaws, in force from the date the amendment named (or now, if that passed
    while the vote ran); the version number they were adopted as."""
    adopted = await bylaws_service.adopt(
        session,
        amendment.document,
        proposal_id=proposal.id,
        effective_from=max(amendment.effective_from, now),
        note=f"Adopted by proposal {proposal.id}: {proposal.title}"[:500],
    )
    return adopted.number


async def _reshuffle(
    session: AsyncSession, proposal_id: uuid.UUID, ballots: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Publish the opened ballots and write the roll anew (returned), in an order that says nothing
    (receipt hash, member id), in the closing transaction, and delete the sealed ballots.
    PostgreSQL stamps each row with the transaction that last wrote it and stores rows in arrival
    order: after the close every published row and roll entry carries the close's transaction.
    What the casts wrote (sealed ballots, the roll's earlier versions) stays in the files until
    the shell makes them forget it, and is useless without the server's ballot secret."""
    roll = await _roll_in_member_order(session, proposal_id)
    for table, column in (
        (ProposalVoter, col(ProposalVoter.proposal_id)),
        (SealedBallot, col(SealedBallot.proposal_id)),
        (Ballot, col(Ballot.proposal_id)),
    ):
        await session.execute(delete(table).where(column == proposal_id))
    if roll:
        await session.execute(insert(ProposalVoter), roll)
    if ballots:
        await session.execute(
            insert(Ballot),
            [
                {
                    "id": uuid.uuid4(),
                    "proposal_id": proposal_id,
                    "member_class": ballot["member_class"],
                    "receipt_hash": ballot["receipt_hash"],
                    "content": ballot["content"],
                }
                for ballot in ballots
            ],
        )
    return roll


async def _roll_in_member_order(
    session: AsyncSession, proposal_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The roll's rows as they will be written again, by member id."""
    rows = (
        await session.execute(
            select(
                col(ProposalVoter.member_id),
                col(ProposalVoter.account_id),
                col(ProposalVoter.member_class),
                col(ProposalVoter.voted),
            )
            .where(col(ProposalVoter.proposal_id) == proposal_id)
            .order_by(col(ProposalVoter.member_id))
        )
    ).all()
    return [
        {
            "proposal_id": proposal_id,
            "member_id": member_id,
            "account_id": account_id,
            "member_class": member_class,
            "voted": voted,
        }
        for member_id, account_id, member_class, voted in rows
    ]


def closed_in(session: AsyncSession) -> bool:
    """Whether a vote closed in this session: once it commits, the files should forget what the
    casts wrote."""
    return bool(session.info.get(CLOSED_HERE))


async def unscrubbed(session: AsyncSession) -> list[uuid.UUID]:
    """Closed votes whose casts the database files may still hold."""
    return list(
        (
            await session.execute(
                select(col(Proposal.id)).where(
                    col(Proposal.status) == ProposalStatus.CLOSED,
                    col(Proposal.scrubbed_at).is_(None),
                )
            )
        ).scalars()
    )


async def mark_scrubbed(session: AsyncSession, proposal_ids: list[uuid.UUID]) -> None:
    await session.execute(
        update(Proposal)
        .where(col(Proposal.id).in_(proposal_ids))
        .values(scrubbed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
