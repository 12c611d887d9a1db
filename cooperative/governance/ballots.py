"""Casting, replacing and checking secret ballots, and the result.

Casting marks the voter's roll entry as voted and stores the ballot sealed (see `sealing`) under
a keyed hash of a fresh receipt, in one transaction. The mark is a conditional update (`voted`
false → true), so of two concurrent casts by one member exactly one gets a ballot. The receipt
is returned once and never stored; with it alone the voter replaces their ballot until the close,
and anyone checks it after, in the ballots the close published.
"""

import secrets
import uuid
from base64 import b32encode
from typing import Any, get_args

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts.errors import NotVerified
from cooperative.governance import notices, payloads, rules, sealing
from cooperative.governance.access import visible, voter_of
from cooperative.governance.closing import close_if_due
from cooperative.governance.counting import keys_of, running
from cooperative.governance.errors import (
    AlreadyVoted,
    ApprovalNotValid,
    NotClosed,
    NotEligible,
    NotInRace,
    NotOpen,
    RankingNotDistinct,
    UnknownReceipt,
    WrongBallotShape,
)
from cooperative.governance.models import Ballot, Proposal, ProposalVoter, SealedBallot
from cooperative.governance.payloads import ElectionPayload, Payload, PrioritiesPayload
from cooperative.governance.rules import ProposalStatus
from cooperative.governance.schemas import BallotCast, BallotReceipt, ResultPublic, Verification
from cooperative.governance.sealing import BallotKeys, OpenBallot, ProposalKeys, receipt_hash
from cooperative.kernel import clock
from cooperative.kernel.errors import IdempotencyKeyReused, NotFound, Text
from cooperative.kernel.principal import Principal


def new_receipt(bits: bytes | None = None) -> str:
    """120 random bits (or the 15 bytes given), in groups a person can copy:
    ABCD-EFGH-IJKL-MNOP-QRST-UVWX."""
    code = b32encode(bits or secrets.token_bytes(15)).decode()
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def widest(proposal: Proposal) -> list[OpenBallot]:
    """The longest ballots the proposal admits, in every class: what sealed ballots are padded
    to, so that their length does not tell a short vote from a long one."""
    payload = payloads.read(proposal)
    contents: list[dict[str, Any]]
    if isinstance(payload, ElectionPayload):
        contents = [{"ranking": [c.id for c in race.candidates]} for race in payload.races.values()]
    elif isinstance(payload, PrioritiesPayload):
        contents = [{"approve": [o.id for o in payload.options]}]
    else:
        contents = [{"vote": choice} for choice in get_args(rules.Choice)]
    classes = sorted(proposal.eligible or {}) or [""]
    return [OpenBallot(c, "0" * 64, content) for c in classes for content in contents]


def _expected(payload: Payload) -> str:
    """The one field a ballot of this kind fills."""
    if isinstance(payload, ElectionPayload):
        return "ranking"
    if isinstance(payload, PrioritiesPayload):
        return "approve"
    return "vote"


def content_of(proposal: Proposal, member_class: str, data: BallotCast) -> dict[str, Any]:
    """The ballot in the shape its kind counts, or a clear refusal."""
    payload = payloads.read(proposal)
    expected = _expected(payload)
    given = {k for k in ("vote", "ranking", "approve") if getattr(data, k) is not None}
    if given != {expected}:
        raise WrongBallotShape(kind=proposal.kind, expected=expected)
    if isinstance(payload, ElectionPayload) and data.ranking is not None:
        return {"ranking": _ranking(payload, member_class, data.ranking)}
    if isinstance(payload, PrioritiesPayload) and data.approve is not None:
        options = {o.id for o in payload.options}
        if len(set(data.approve)) != len(data.approve) or set(data.approve) - options:
            raise ApprovalNotValid()
        return {"approve": sorted(data.approve, key=lambda o: (len(o), o))}
    return {"vote": data.vote}


def _ranking(payload: ElectionPayload, member_class: str, ranking: list[str]) -> list[str]:
    """The voter's preferences among their own race's candidates, each once."""
    race = payload.races.get(member_class)
    known = {c.id for c in race.candidates} if race else set()
    if not ranking or len(set(ranking)) != len(ranking):
        raise RankingNotDistinct()
    stray = [c for c in ranking if c not in known]
    if stray:
        raise NotInRace(member_class=member_class, candidate=stray[0])
    return list(ranking)


async def cast(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    data: BallotCast,
    *,
    keys: BallotKeys,
    idempotency_key: str | None = None,
) -> BallotReceipt:
    """Cast (or, with `data.receipt`, replace) the principal's ballot.

    With an `idempotency_key`, the receipt is derived from the voter and the key
    (`ProposalKeys.keyed_receipt`): a retry of the same cast while the vote runs finds the
    ballot under that receipt and answers with the same receipt, also when it races the
    first; the same key with another ballot is refused (`IdempotencyKeyReused`). An account
    whose contact is not verified yet votes not (`NotVerified`)."""
    if not principal.verified:
        raise NotVerified()
    proposal = await _taking_ballots(session, principal, proposal_id, keys=keys)
    voter = await voter_of(session, proposal.id, principal.account_id)
    if voter is None:
        raise NotEligible(record_date=proposal.record_date)
    sealer = keys_of(proposal, keys)
    content = content_of(proposal, voter.member_class, data)
    padded_to = sealing.width(widest(proposal))
    if data.receipt is not None:
        return await _replace(session, proposal, voter, sealer, data.receipt, content, padded_to)
    if idempotency_key is None:
        await _mark_voted(session, voter)
        return await _seal_new(session, proposal, voter, sealer, new_receipt(), content, padded_to)
    receipt = new_receipt(sealer.keyed_receipt(voter.member_id, idempotency_key))
    if (earlier := await _cast_before(session, proposal, sealer, receipt, content)) is not None:
        return earlier
    try:
        await _mark_voted(session, voter)
    except AlreadyVoted:  # a retry racing the first cast: it is in now, answer with it
        if (earlier := await _cast_before(session, proposal, sealer, receipt, content)) is None:
            raise
        return earlier
    return await _seal_new(session, proposal, voter, sealer, receipt, content, padded_to)


async def _cast_before(
    session: AsyncSession,
    proposal: Proposal,
    sealer: ProposalKeys,
    receipt: str,
    content: dict[str, Any],
) -> BallotReceipt | None:
    """The answer to the cast that stored a ballot under `receipt`, if one did and it asked
    for `content`; IdempotencyKeyReused if it asked for another ballot."""
    lookup = sealer.lookup(receipt)
    row = (
        await session.execute(
            select(SealedBallot).where(
                col(SealedBallot.proposal_id) == proposal.id, col(SealedBallot.lookup) == lookup
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if sealer.unseal(lookup, row.sealed).content != content:
        raise IdempotencyKeyReused()
    return BallotReceipt(receipt=receipt, receipt_hash=receipt_hash(receipt), replaced=False)


async def _seal_new(
    session: AsyncSession,
    proposal: Proposal,
    voter: ProposalVoter,
    sealer: ProposalKeys,
    receipt: str,
    content: dict[str, Any],
    padded_to: int,
) -> BallotReceipt:
    """Store the ballot of a voter just marked as voted, sealed under its receipt."""
    hashed = receipt_hash(receipt)
    lookup = sealer.lookup(receipt)
    ballot = OpenBallot(voter.member_class, hashed, content)
    session.add(
        SealedBallot(
            lookup=lookup, proposal_id=proposal.id, sealed=sealer.seal(lookup, ballot, padded_to)
        )
    )
    await session.flush()
    return BallotReceipt(receipt=receipt, receipt_hash=hashed, replaced=False)


async def _taking_ballots(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, keys: BallotKeys
) -> Proposal:
    """The proposal, if its vote runs now. A shared lock for the rest of the cast: the close
    (which locks the row for update) waits for casts under way, and a cast that comes after it
    sees it closed, so no ballot lands after the count."""
    proposal = await close_if_due(
        session, await visible(session, principal, proposal_id), keys=keys
    )
    locked = await session.get(
        Proposal, proposal.id, with_for_update={"read": True}, populate_existing=True
    )
    if locked is None:
        raise NotFound()
    now = clock.now()
    is_open = locked.status == ProposalStatus.OPEN
    if is_open and locked.closes_at is not None and locked.closes_at <= now:
        raise NotOpen(status=ProposalStatus.CLOSED)  # its time came while this cast waited
    if not is_open or (locked.opens_at is not None and locked.opens_at > now):
        raise NotOpen(status="scheduled" if is_open else locked.status)
    return locked


async def _mark_voted(session: AsyncSession, voter: ProposalVoter) -> None:
    """Voted, once: of two concurrent first casts by one member, one marks and one is refused.
    Their closing-soon reminder goes (`notices.voted`)."""
    marked = await session.execute(
        update(ProposalVoter)
        .where(
            col(ProposalVoter.proposal_id) == voter.proposal_id,
            col(ProposalVoter.member_id) == voter.member_id,
            col(ProposalVoter.voted).is_(False),
        )
        .values(voted=True)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyVoted()
    await notices.voted(session, voter.proposal_id, voter.account_id)


async def _replace(
    session: AsyncSession,
    proposal: Proposal,
    voter: ProposalVoter,
    sealer: ProposalKeys,
    receipt: str,
    content: dict[str, Any],
    padded_to: int,
) -> BallotReceipt:
    """The ballot of this receipt now says `content`, if the receipt is one of the voter's
    class and they have voted; the row is locked, so concurrent replacements take turns."""
    hashed = receipt_hash(receipt)
    lookup = sealer.lookup(receipt)
    row = (
        await session.execute(
            select(SealedBallot)
            .where(col(SealedBallot.proposal_id) == proposal.id, col(SealedBallot.lookup) == lookup)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:  # a ballot cast before ballots were sealed stays as it was stored
        plain = (
            await session.execute(
                select(Ballot)
                .where(col(Ballot.proposal_id) == proposal.id, col(Ballot.receipt_hash) == hashed)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if plain is None or plain.member_class != voter.member_class or not voter.voted:
            raise UnknownReceipt()
        plain.content = content
    else:
        if sealer.unseal(lookup, row.sealed).member_class != voter.member_class or not voter.voted:
            raise UnknownReceipt()
        ballot = OpenBallot(voter.member_class, hashed, content)
        row.sealed = sealer.seal(lookup, ballot, padded_to)
    await session.flush()
    return BallotReceipt(receipt=receipt, receipt_hash=hashed, replaced=True)


async def closed(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, keys: BallotKeys
) -> Proposal:
    """The proposal, closed (closing it first if its time is up); refused while voting runs."""
    proposal = await close_if_due(
        session, await visible(session, principal, proposal_id), keys=keys
    )
    if proposal.status != ProposalStatus.CLOSED:
        raise NotClosed(closes_at=proposal.closes_at or Text("not yet set", "aún sin fijar"))
    return proposal


async def result(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, keys: BallotKeys
) -> ResultPublic:
    """The final result after the close; before it, a running count only if the bylaws in force
    at the opening let members see one (the sealed ballots are opened for it, never stored)."""
    proposal = await close_if_due(
        session, await visible(session, principal, proposal_id), keys=keys
    )
    if proposal.status == ProposalStatus.CLOSED:
        assert proposal.result is not None and proposal.bylaws_version is not None
        return ResultPublic(
            proposal_id=proposal.id,
            status=ProposalStatus.CLOSED,
            final=True,
            bylaws_version=proposal.bylaws_version,
            passed=proposal.passed,
            result=proposal.result,
        )
    if proposal.status == ProposalStatus.OPEN and not payloads.read(proposal).hides_results():
        assert proposal.bylaws_version is not None
        count = rules.tally(await running(session, proposal, keys=keys))
        return ResultPublic(
            proposal_id=proposal.id,
            status=ProposalStatus.OPEN,
            final=False,
            bylaws_version=proposal.bylaws_version,
            passed=None,
            result=count,
        )
    raise NotClosed(closes_at=proposal.closes_at or Text("not yet set", "aún sin fijar"))


async def verify(
    session: AsyncSession,
    principal: Principal,
    proposal_id: uuid.UUID,
    receipt: str,
    *,
    keys: BallotKeys,
) -> Verification:
    proposal = await closed(session, principal, proposal_id, keys=keys)
    hashed = receipt_hash(receipt)
    ballot = (
        await session.execute(
            select(Ballot).where(
                col(Ballot.proposal_id) == proposal.id, col(Ballot.receipt_hash) == hashed
            )
        )
    ).scalar_one_or_none()
    return Verification(
        receipt_hash=hashed,
        included=ballot is not None,
        content=ballot.content if ballot is not None else None,
    )
