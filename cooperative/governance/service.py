"""Proposals through their life: draft, co-signing, opening with the roll, closing with the tally.

Closing happens once, when the close time has passed, in whichever transaction gets there first
(a request about the proposal, a listing, or the app's sweeper): it locks the proposal, opens the
sealed ballots, counts them with the same `rules.tally` anyone can rerun on the published list,
publishes them, and for a passed amendment installs the new bylaws version. Once a close has
committed, the shell makes the database files forget what the casts wrote (`closed_in`,
`unscrubbed`, `mark_scrubbed`).
"""

import hmac
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts.models import Account
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.schema import Bylaws
from cooperative.bylaws.service import InForce
from cooperative.governance import roll, rules
from cooperative.governance.errors import (
    BallotsUnreadable,
    CosignersMissing,
    NotDraft,
    NotOpen,
    invalid,
)
from cooperative.governance.models import (
    Ballot,
    Proposal,
    ProposalComment,
    ProposalCosigner,
    ProposalEvent,
    ProposalVoter,
    SealedBallot,
)
from cooperative.governance.schemas import (
    CommentCreate,
    ProposalCreate,
    ProposalOpen,
    ProposalPublic,
    Turnout,
    YourPart,
)
from cooperative.governance.sealing import BallotKeys, ProposalKeys
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound
from cooperative.kernel.pagination import paginate
from cooperative.kernel.principal import Principal, Role
from cooperative.membership import service as membership_service
from cooperative.membership.models import Member
from cooperative.membership.rules import MemberStatus
from cooperative.surplus.models import AllocationRun

MAX_VOTING = timedelta(days=366)
MAX_RECORD_AGE = timedelta(days=366)
MAX_EFFECTIVE_AHEAD = timedelta(days=3653)
CLOSED_HERE = "tequio.governance.closed"  # in `session.info`: a vote closed in this transaction

_KIND_FIELDS = {
    "bylaw_amendment": {"document", "effective_from"},
    "surplus_allocation": {"allocation_run_id"},
    "board_election": {"candidates"},
    "priorities": {"options"},
}


def steers(principal: Principal) -> bool:
    """The board and admins propose, open and close without co-signers."""
    return principal.is_admin or principal.has_role(Role.BOARD)


async def _member(session: AsyncSession, principal: Principal) -> Member | None:
    return await membership_service.member_of(session, principal.account_id)


async def create(
    session: AsyncSession, principal: Principal, data: ProposalCreate, law: InForce, *, today: date
) -> Proposal:
    """A draft by the board or an admin, or a member initiative by a member in good standing."""
    initiative = not steers(principal)
    if initiative and not await membership_service.in_good_standing(
        session, principal.account_id, law, today=today
    ):
        raise Forbidden(reason="only the board, an admin or a member in good standing proposes")
    if data.kind not in law.bylaws.governance.rules:
        raise invalid(
            f"the bylaws in force have no rule for {data.kind}",
            f"los estatutos vigentes no tienen regla para {data.kind}",
        )
    given = {name for name in data.model_fields_set if getattr(data, name) is not None}
    stray = ", ".join(
        sorted(given - {"kind", "title", "body"} - _KIND_FIELDS.get(data.kind, set()))
    )
    if stray:
        raise invalid(f"{stray}: not part of a {data.kind}", f"{stray}: no es parte de {data.kind}")
    missing = ", ".join(sorted(_KIND_FIELDS.get(data.kind, set()) - given))
    if missing:
        raise invalid(f"a {data.kind} needs {missing}", f"{data.kind} requiere {missing}")
    proposal = Proposal(
        kind=data.kind,
        title=data.title,
        body=data.body,
        payload=await _payload(session, data, law),
        proposed_by=principal.account_id,
        initiative=initiative,
    )
    session.add(proposal)
    await session.flush()
    return proposal


async def _payload(session: AsyncSession, data: ProposalCreate, law: InForce) -> dict[str, Any]:
    if data.kind == "bylaw_amendment":
        assert data.document is not None and data.effective_from is not None
        now = clock.now()
        if not now - MAX_RECORD_AGE <= data.effective_from <= now + MAX_EFFECTIVE_AHEAD:
            raise invalid(
                "effective_from is within ten years from today",
                "effective_from está dentro de los próximos diez años",
            )
        return {
            "document": data.document.model_dump(mode="json"),
            "effective_from": data.effective_from.isoformat(),
            "amends_version": law.number,
        }
    if data.kind == "surplus_allocation":
        run = await session.get(AllocationRun, data.allocation_run_id)
        if run is None or run.status != "draft":
            raise invalid(
                "the allocation run must exist and still be a draft",
                "la asignación debe existir y ser todavía un borrador",
            )
        return {
            "allocation_run_id": str(run.id),
            "fiscal_year": run.fiscal_year,
            "input_digest": run.input_digest,
        }
    if data.kind == "board_election":
        assert data.candidates is not None
        return {"races": await _races(session, data.candidates, law)}
    if data.kind == "priorities":
        assert data.options is not None
        labels = [o.strip() for o in data.options]
        if not 2 <= len(labels) <= 50 or len(set(labels)) != len(labels) or "" in labels:
            raise invalid(
                "priorities need 2 to 50 different options",
                "las prioridades necesitan de 2 a 50 opciones distintas",
            )
        return {"options": [{"id": str(i), "label": o} for i, o in enumerate(labels, 1)]}
    return {}


async def _races(
    session: AsyncSession, candidates: dict[str, list[uuid.UUID]], law: InForce
) -> dict[str, Any]:
    seats = law.bylaws.governance.rules["board_election"].seats
    races: dict[str, Any] = {}
    for member_class, ids in sorted(candidates.items()):
        if member_class not in seats:
            raise invalid(
                f"the bylaws elect no board seats for {member_class}",
                f"los estatutos no eligen puestos del consejo para {member_class}",
            )
        if not ids or len(set(ids)) != len(ids):
            raise invalid(
                f"the {member_class} race needs different candidates",
                f"la contienda {member_class} necesita candidaturas distintas",
            )
        found = {
            m.id: m
            for m in (
                await session.execute(select(Member).where(col(Member.id).in_(ids)))
            ).scalars()
        }
        for candidate in ids:
            member = found.get(candidate)
            if (
                member is None
                or member.member_class != member_class
                or member.status != MemberStatus.ACTIVE
            ):
                raise invalid(
                    f"candidate {candidate} is not an active {member_class} member",
                    f"la candidatura {candidate} no es de un socio activo {member_class}",
                )
        races[member_class] = {
            "candidates": [{"id": str(c), "name": found[c].full_name} for c in ids]
        }
    if not races:
        raise invalid(
            "a board election needs at least one race",
            "una elección del consejo necesita al menos una contienda",
        )
    return races


async def _takes_part(session: AsyncSession, principal: Principal) -> bool:
    """The board, admins, and members admitted (active, or suspended but still members);
    not applicants, nor those rejected or withdrawn."""
    if steers(principal):
        return True
    member = await _member(session, principal)
    return member is not None and member.status in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED)


async def visible(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, lock: bool = False
) -> Proposal:
    """Members, the board and admins see the cooperative's proposals; nobody else."""
    if not await _takes_part(session, principal):
        raise NotFound()
    proposal = await session.get(Proposal, proposal_id, with_for_update=lock)
    if proposal is None:
        raise NotFound()
    return proposal


async def list_proposals(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int | None,
    keys: BallotKeys,
) -> tuple[list[Proposal], str | None]:
    if not await _takes_part(session, principal):
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
    cosigners = (
        await session.execute(
            select(func.count()).where(col(ProposalCosigner.proposal_id) == proposal.id)
        )
    ).scalar_one()
    turnout = None
    you = None
    if proposal.status != "draft":
        voted = dict(
            (
                await session.execute(
                    select(col(ProposalVoter.member_class), func.count())
                    .where(col(ProposalVoter.proposal_id) == proposal.id, col(ProposalVoter.voted))
                    .group_by(col(ProposalVoter.member_class))
                )
            ).all()
        )
        eligible = proposal.eligible or {}
        turnout = Turnout(eligible=eligible, voted={c: voted.get(c, 0) for c in eligible})
        mine = await voter_of(session, proposal.id, principal.account_id)
        you = YourPart(
            eligible=mine is not None,
            member_class=mine.member_class if mine else None,
            voted=bool(mine and mine.voted),
        )
    payload = dict(proposal.payload)
    return ProposalPublic(
        id=proposal.id,
        kind=proposal.kind,
        status=proposal.status,
        title=proposal.title,
        body=proposal.body,
        payload=payload,
        initiative=proposal.initiative,
        cosigners=cosigners,
        cosigners_needed=law.bylaws.governance.initiative_cosigners if proposal.initiative else 0,
        opens_at=proposal.opens_at,
        closes_at=proposal.closes_at,
        record_date=proposal.record_date,
        bylaws_version=proposal.bylaws_version,
        rule=proposal.rule,
        turnout=turnout,
        you=you,
        passed=proposal.passed,
        adopted_bylaws_version=proposal.adopted_bylaws_version,
        created_at=proposal.created_at,
        closed_at=proposal.closed_at,
    )


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
    if proposal.status != "draft":
        raise NotDraft(status=proposal.status)
    if not proposal.initiative:
        raise Forbidden(reason="only a member initiative is co-signed")
    member = await _member(session, principal)
    if member is None or not await membership_service.in_good_standing(
        session, principal.account_id, law, today=today
    ):
        raise Forbidden(reason="only members in good standing co-sign")
    if proposal.proposed_by == principal.account_id:
        raise Forbidden(reason="the proposer does not co-sign their own initiative")
    try:
        async with session.begin_nested():
            session.add(ProposalCosigner(proposal_id=proposal.id, member_id=member.id))
    except IntegrityError:
        pass  # signed already
    return await _good_cosigners(session, proposal, law, today=today)


async def _good_cosigners(
    session: AsyncSession, proposal: Proposal, law: InForce, *, today: date
) -> int:
    """Co-signers still in good standing: a lapsed signature does not count."""
    accounts = (
        await session.execute(
            select(col(Member.account_id))
            .join(ProposalCosigner, col(ProposalCosigner.member_id) == col(Member.id))
            .where(col(ProposalCosigner.proposal_id) == proposal.id)
        )
    ).scalars()
    good = 0
    for account_id in accounts:
        good += await membership_service.in_good_standing(session, account_id, law, today=today)
    return good


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
) -> Proposal:
    """Open a draft: fix the rule in force, take the roll on the record date, and record it."""
    proposal = await visible(session, principal, proposal_id, lock=True)
    if proposal.status != "draft":
        raise NotDraft(status=proposal.status)
    governance = law.bylaws.governance
    if not steers(principal) and proposal.proposed_by != principal.account_id:
        raise Forbidden(reason="only the proposer, the board or an admin opens a proposal")
    if proposal.initiative:
        needed = governance.initiative_cosigners
        have = await _good_cosigners(session, proposal, law, today=today)
        if have < needed:
            raise CosignersMissing(needed=needed, have=have)
    now = clock.now()
    opens_at = data.opens_at or now
    record_date = data.record_date or today
    if data.closes_at <= max(opens_at, now):
        raise invalid(
            "closes_at must be after the opening and in the future",
            "closes_at debe ser posterior a la apertura y futuro",
        )
    if opens_at < now - timedelta(minutes=5):
        raise invalid("opens_at cannot be in the past", "opens_at no puede estar en el pasado")
    if data.closes_at > now + MAX_VOTING:
        raise invalid("a vote closes within a year of today", "una votación cierra antes de un año")
    if record_date > today:
        raise invalid(
            "the record date cannot be in the future",
            "la fecha de registro no puede ser futura",
        )
    if record_date < today - MAX_RECORD_AGE:
        raise invalid(
            "the record date is at most a year before today",
            "la fecha de registro es a lo sumo un año antes de hoy",
        )
    if proposal.initiative:
        if record_date != today:
            raise invalid(
                "a member initiative takes the roll on the day it opens",
                "una iniciativa de socios toma el padrón el día en que se abre",
            )
        hours = governance.initiative_min_voting_hours
        if data.closes_at - opens_at < timedelta(hours=hours):
            raise invalid(
                f"a member initiative is open for at least {hours} hours",
                f"una iniciativa de socios está abierta al menos {hours} horas",
            )
    if proposal.kind == "bylaw_amendment":
        effective = datetime.fromisoformat(proposal.payload["effective_from"])
        if effective < data.closes_at:
            raise invalid(
                "the amendment cannot take effect before the vote closes",
                "la reforma no puede entrar en vigor antes del cierre de la votación",
            )
        if proposal.payload.get("amends_version") != law.number:
            raise invalid(
                f"the bylaws in force are version {law.number}: draft the amendment again "
                "from them, so that it does not undo another",
                f"los estatutos vigentes son la versión {law.number}: redacte de nuevo la "
                "reforma a partir de ellos, para no deshacer otra",
            )
    if proposal.kind not in governance.rules:
        raise invalid(
            f"the bylaws in force have no rule for {proposal.kind}",
            f"los estatutos vigentes no tienen regla para {proposal.kind}",
        )
    rule = law.bylaws.governance.rules[proposal.kind]
    payload = dict(proposal.payload)
    payload["results_hidden_until_close"] = law.bylaws.governance.results_hidden_until_close
    classes: set[str] | None = None
    if proposal.kind == "board_election":
        races = {name: dict(race) for name, race in payload["races"].items()}
        for name, race in races.items():
            if rule.seats.get(name, 0) < 1:
                raise invalid(
                    f"the bylaws in force elect no {name} seats",
                    f"los estatutos vigentes no eligen puestos de {name}",
                )
            race["seats"] = rule.seats[name]
        payload["races"] = races
        classes = set(races)
    if proposal.kind == "priorities":
        payload["top_n"] = rule.top_n or 1
    voters = await roll.eligible(
        session,
        record_date=record_date,
        timezone=timezone,
        grace_days=law.bylaws.dues.grace_days,
        classes=classes,
    )
    if not voters:
        raise invalid(
            f"nobody is on the roll: no member was in good standing on {record_date}",
            f"el padrón está vacío: ningún socio estaba al corriente el {record_date}",
        )
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
    proposal.eligible = {c: sum(v.member_class == c for v in voters) for c in counted}
    proposal.payload = payload
    proposal.rule = rule.model_dump(mode="json")
    proposal.bylaws_version = law.number
    proposal.record_date = record_date
    proposal.opens_at = opens_at
    proposal.closes_at = data.closes_at
    proposal.opened_at = now
    proposal.seal_check = keys.of(proposal.id).check
    proposal.status = "open"
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            kind="opened",
            data={
                "opens_at": opens_at.isoformat(),
                "closes_at": data.closes_at.isoformat(),
                "eligible": proposal.eligible,
            },
        )
    )
    await session.flush()
    return proposal


async def close_now(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, keys: BallotKeys
) -> Proposal:
    """The board or an admin closes voting now (the assembly ended early); the close is final."""
    if not steers(principal):
        raise Forbidden(reason="only the board or an admin closes a vote early")
    proposal = await visible(session, principal, proposal_id, lock=True)
    if proposal.status == "draft":
        raise NotOpen(status=proposal.status)
    if proposal.status == "open":
        now = clock.now()
        if proposal.closes_at is None or proposal.closes_at > now:
            proposal.closes_at = now
        await _close(session, proposal, keys)
    return proposal


async def close_if_due(session: AsyncSession, proposal: Proposal, *, keys: BallotKeys) -> Proposal:
    """Close an open proposal whose time is up (once, whoever comes first)."""
    if (
        proposal.status == "open"
        and proposal.closes_at is not None
        and proposal.closes_at <= clock.now()
    ):
        locked = await session.get(
            Proposal, proposal.id, with_for_update=True, populate_existing=True
        )
        assert locked is not None
        if locked.status == "open":
            await _close(session, locked, keys)
        return locked
    return proposal


async def close_due(session: AsyncSession, *, keys: BallotKeys) -> tuple[int, list[uuid.UUID]]:
    """Close every open proposal whose time is up, each in its own savepoint so that one that
    cannot close does not hold up the others; how many closed, and the ids that failed."""
    due = (
        await session.execute(
            select(Proposal).where(
                col(Proposal.status) == "open", col(Proposal.closes_at) <= clock.now()
            )
        )
    ).scalars()
    closed, failed = 0, []
    for proposal in list(due):
        try:
            async with session.begin_nested():
                closed += (await close_if_due(session, proposal, keys=keys)).status == "closed"
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
                col(Proposal.status) == "open",
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
                kind="closing_soon",
                data={"closes_at": closes_at.isoformat() if closes_at else None},
            )
        )
    await session.flush()
    return closed, failed


def _head(proposal: Proposal) -> dict[str, Any]:
    """The part of `ballots.json` that says what was voted on and under which rule."""
    head: dict[str, Any] = {
        "id": str(proposal.id),
        "kind": proposal.kind,
        "title": proposal.title,
        "bylaws_version": proposal.bylaws_version,
        "record_date": proposal.record_date.isoformat() if proposal.record_date else None,
        "closes_at": proposal.closes_at.isoformat() if proposal.closes_at else None,
        "rule": proposal.rule,
        "eligible": proposal.eligible,
    }
    for key in ("races", "options", "top_n"):
        if key in proposal.payload:
            head[key] = proposal.payload[key]
    return head


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
        "proposal": _head(proposal),
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


async def _reshuffle(
    session: AsyncSession, proposal_id: uuid.UUID, ballots: list[dict[str, Any]]
) -> None:
    """Publish the opened ballots and write the roll anew, in an order that says nothing
    (receipt hash, member id), in the closing transaction, and delete the sealed ballots.
    PostgreSQL stamps each row with the transaction that last wrote it and stores rows in arrival
    order: after the close every published row and roll entry carries the close's transaction.
    What the casts wrote (sealed ballots, the roll's earlier versions) stays in the files until
    the shell makes them forget it, and is useless without the server's ballot secret."""
    voters = (
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
    for table, column in (
        (ProposalVoter, col(ProposalVoter.proposal_id)),
        (SealedBallot, col(SealedBallot.proposal_id)),
        (Ballot, col(Ballot.proposal_id)),
    ):
        await session.execute(delete(table).where(column == proposal_id))
    if voters:
        await session.execute(
            insert(ProposalVoter),
            [
                {
                    "proposal_id": proposal_id,
                    "member_id": member_id,
                    "account_id": account_id,
                    "member_class": member_class,
                    "voted": voted,
                }
                for member_id, account_id, member_class, voted in voters
            ],
        )
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


async def _close(session: AsyncSession, proposal: Proposal, keys: BallotKeys) -> None:
    now = clock.now()
    count = await running(session, proposal, keys=keys)
    result = rules.tally(count)
    await _reshuffle(session, proposal.id, count["ballots"])
    proposal.result = result
    proposal.passed = bool(result["passed"])
    proposal.status = "closed"
    proposal.closed_at = now
    if proposal.kind == "bylaw_amendment" and proposal.passed:
        named = datetime.fromisoformat(proposal.payload["effective_from"])
        adopted = await bylaws_service.adopt(
            session,
            Bylaws.model_validate(proposal.payload["document"]),
            proposal_id=proposal.id,
            effective_from=max(named, now),
            note=f"Adopted by proposal {proposal.id}: {proposal.title}"[:500],
        )
        proposal.adopted_bylaws_version = adopted.number
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            kind="result",
            data={
                "passed": proposal.passed,
                "adopted_bylaws_version": proposal.adopted_bylaws_version,
            },
        )
    )
    await session.flush()
    session.info[CLOSED_HERE] = True


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
                    col(Proposal.status) == "closed", col(Proposal.scrubbed_at).is_(None)
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


async def comment(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, data: CommentCreate
) -> ProposalComment:
    proposal = await visible(session, principal, proposal_id)
    account = await session.get(Account, principal.account_id)
    assert account is not None
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
) -> tuple[list[ProposalComment], str | None]:
    await visible(session, principal, proposal_id)
    rows, next_cursor = await paginate(
        session,
        select(ProposalComment).where(col(ProposalComment.proposal_id) == proposal_id),
        time_column=col(ProposalComment.created_at),
        id_column=col(ProposalComment.id),
        cursor=cursor,
        limit=limit,
    )
    return list(rows), next_cursor


async def events(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, *, keys: BallotKeys
) -> list[ProposalEvent]:
    await close_if_due(session, await visible(session, principal, proposal_id), keys=keys)
    return list(
        (
            await session.execute(
                select(ProposalEvent)
                .where(col(ProposalEvent.proposal_id) == proposal_id)
                .order_by(col(ProposalEvent.at))
            )
        ).scalars()
    )
