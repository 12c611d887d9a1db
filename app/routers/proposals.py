"""Governance: proposals, co-signing, comments, secret ballots, results and the published count."""

import csv
import io
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from app.auth import require_scopes
from app.context import BallotKeysDep, LawDep, TodayDep
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.webhooks import proposal_event
from cooperative.governance import ballots, errors
from cooperative.governance import service as governance
from cooperative.governance.schemas import (
    BallotCast,
    BallotReceipt,
    CommentCreate,
    CommentPublic,
    Kind,
    ProposalCreate,
    ProposalEventPublic,
    ProposalOpen,
    ProposalPublic,
    PublishedBallots,
    ResultPublic,
    Status,
    Verification,
)
from cooperative.kernel.principal import Principal, Scope
from cooperative.webhooks.rules import EventType

router = APIRouter(prefix="/v1/proposals", tags=["governance"])

Voter = Annotated[Principal, require_scopes(Scope.GOVERNANCE_VOTE)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Draft a proposal",
    responses=problem_responses(401, 403, 409, 422, problems=errors.DRAFTING),
)
async def create(
    session: SessionDep, principal: Voter, law: LawDep, today: TodayDep, data: ProposalCreate
) -> ProposalPublic:
    """The board or an admin drafts any kind; a member in good standing drafts a member
    initiative, which opens once the number of co-signers the bylaws set have signed it.

    Kinds: `resolution` (yes/no/abstain), `bylaw_amendment` (the whole proposed bylaws, validated
    now, and `effective_from`), `surplus_allocation` (`allocation_run_id`), `board_election`
    (`candidates`: member ids per member class; each class elects its seats), `priorities`
    (`options`, approval voting)."""
    proposal = await governance.create(session, principal, data.root, law, today=today)
    return await governance.public(session, principal, proposal, law)


@router.get("", summary="Proposals", responses=problem_responses(400, 401, 403))
async def list_proposals(
    session: SessionDep,
    principal: Voter,
    law: LawDep,
    keys: BallotKeysDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    kind: Annotated[Kind | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ProposalPublic]:
    """The cooperative's proposals, newest first, for its members, board and admins; filter by
    `status` and `kind`. Those whose time is up are closed first."""
    rows = await governance.list_proposals(
        session, principal, status=status_, kind=kind, cursor=cursor, limit=limit, keys=keys
    )
    found, next_cursor = rows
    return Page(
        items=await governance.public_many(session, principal, found, law), next_cursor=next_cursor
    )


@router.get(
    "/{proposal_id}", summary="One proposal", responses=problem_responses(401, 403, 404, 503)
)
async def get(
    session: SessionDep, principal: Voter, law: LawDep, keys: BallotKeysDep, proposal_id: uuid.UUID
) -> ProposalPublic:
    """The proposal, its turnout so far (who voted is never shown) and whether you may vote."""
    proposal = await governance.visible(session, principal, proposal_id)
    proposal = await governance.close_if_due(session, proposal, keys=keys)
    return await governance.public(session, principal, proposal, law)


@router.post(
    "/{proposal_id}/cosign",
    summary="Co-sign a member initiative",
    responses=problem_responses(401, 403, 404, 409),
)
async def cosign(
    session: SessionDep, principal: Voter, law: LawDep, today: TodayDep, proposal_id: uuid.UUID
) -> ProposalPublic:
    """Members in good standing co-sign a member's draft; signing twice counts once."""
    await governance.cosign(session, principal, proposal_id, law, today=today)
    proposal = await governance.visible(session, principal, proposal_id)
    return await governance.public(session, principal, proposal, law)


@router.post(
    "/{proposal_id}/open",
    summary="Open voting",
    responses=problem_responses(401, 403, 404, 409, 422, problems=errors.OPENING),
)
async def open_voting(
    request: Request,
    session: SessionDep,
    principal: Voter,
    law: LawDep,
    today: TodayDep,
    keys: BallotKeysDep,
    proposal_id: uuid.UUID,
    data: ProposalOpen,
) -> ProposalPublic:
    """Opens a draft from `opens_at` (now) to `closes_at`, under the rule of the bylaws in force
    now. The roll is taken at once: members in good standing on `record_date` (today), with their
    class; quorum is counted against it, never against later changes to the membership."""
    proposal = await governance.open_voting(
        session,
        principal,
        proposal_id,
        data,
        law,
        today=today,
        timezone=request.app.state.settings.timezone,
        keys=keys,
        closing_soon=timedelta(hours=request.app.state.settings.governance_closing_soon_hours),
    )
    await proposal_event(session, EventType.PROPOSAL_OPENED, proposal)
    return await governance.public(session, principal, proposal, law)


@router.post(
    "/{proposal_id}/close",
    summary="Close voting now",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def close(
    session: SessionDep, principal: Voter, law: LawDep, keys: BallotKeysDep, proposal_id: uuid.UUID
) -> ProposalPublic:
    """The board or an admin closes an open vote early; voting also closes by itself at
    `closes_at`. Either way it closes once: the sealed ballots are opened, counted and published
    then (`503 ballots-unreadable` if the server's ballot secret is not the one the vote opened
    with)."""
    proposal = await governance.close_now(session, principal, proposal_id, keys=keys)
    return await governance.public(session, principal, proposal, law)


@router.post(
    "/{proposal_id}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a proposal",
    responses=problem_responses(401, 403, 404, 422),
)
async def comment(
    session: SessionDep, principal: Voter, proposal_id: uuid.UUID, data: CommentCreate
) -> CommentPublic:
    """Members, the board and admins discuss a proposal; comments show the author's name."""
    row = await governance.comment(session, principal, proposal_id, data)
    return governance.comment_public(row)


@router.get(
    "/{proposal_id}/comments",
    summary="The discussion",
    responses=problem_responses(400, 401, 403, 404),
)
async def comments(
    session: SessionDep,
    principal: Voter,
    proposal_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[CommentPublic]:
    """The discussion, oldest first."""
    return await governance.comments(session, principal, proposal_id, cursor=cursor, limit=limit)


@router.get(
    "/{proposal_id}/events",
    summary="Opening, closing soon, result",
    responses=problem_responses(400, 401, 403, 404, 503),
)
async def events(
    session: SessionDep,
    principal: Voter,
    keys: BallotKeysDep,
    proposal_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ProposalEventPublic]:
    """What notifications are made of: `opened`, `closing_soon` and `result`, each once."""
    return await governance.events(
        session, principal, proposal_id, keys=keys, cursor=cursor, limit=limit
    )


BallotIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
        description="A fresh random UUID (version 4) for each ballot, never one that means "
        "something (such as the proposal's id): a retry with the same key and ballot gets the "
        "same receipt, and the key's randomness is what keeps anyone who holds the ballot "
        "secret from working out the receipt of a guessed key for each voter.",
    ),
]


@router.post(
    "/{proposal_id}/ballots",
    summary="Cast or replace your ballot",
    responses=problem_responses(401, 403, 404, 409, 422, 503, problems=errors.CASTING),
)
async def cast(
    session: SessionDep,
    principal: Voter,
    keys: BallotKeysDep,
    proposal_id: uuid.UUID,
    data: BallotCast,
    idempotency_key: BallotIdempotencyKey = None,
) -> BallotReceipt:
    """A secret ballot: Tequio records that you voted apart from what you voted, and nothing joins
    the two. Until the close your ballot is stored sealed, readable only with a secret the server
    keeps out of the database. The answer carries your receipt, shown only this once: send your
    ballot again with it to change your vote until the close, and after the close check that it
    was counted.

    Send an `Idempotency-Key` (a random one, e.g. a UUID, new for each ballot): if the answer
    is lost on a bad link, the same request sent again until the close gets the same receipt
    instead of `already-voted`. The receipt is derived from you and the key with the server's
    ballot secret and never stored, so the key must be one nobody could guess."""
    return await ballots.cast(
        session, principal, proposal_id, data, keys=keys, idempotency_key=idempotency_key
    )


@router.get(
    "/{proposal_id}/result",
    summary="The result",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def result(
    session: SessionDep, principal: Voter, keys: BallotKeysDep, proposal_id: uuid.UUID
) -> ResultPublic:
    """After the close: turnout, quorum, each rule's test, and for elections every round of the
    count. Before it, a running count only where the bylaws make results visible."""
    return await ballots.result(session, principal, proposal_id, keys=keys)


@router.get(
    "/{proposal_id}/ballots.json",
    summary="The published ballots (JSON)",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def ballots_json(
    session: SessionDep, principal: Voter, keys: BallotKeysDep, proposal_id: uuid.UUID
) -> PublishedBallots:
    """After the close: every counted ballot with its receipt hash and its voter's class, and
    what the count needs. `tequio governance recount` (or any program following
    cooperative/governance/rules.py) recomputes the published result from this file alone."""
    proposal = await ballots.closed(session, principal, proposal_id, keys=keys)
    return PublishedBallots.model_validate(await governance.published(session, proposal))


@router.get(
    "/{proposal_id}/ballots.csv",
    summary="The published ballots (CSV)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per ballot."},
        **problem_responses(401, 403, 404, 409, 503),
    },
)
async def ballots_csv(
    session: SessionDep, principal: Voter, keys: BallotKeysDep, proposal_id: uuid.UUID
) -> Response:
    """The same ballots, a row each: `receipt_hash`, `member_class`, `vote` (yes/no/abstain),
    `ranking` (candidate ids in order, separated by `>`) or `approve` (option ids, by `;`)."""
    proposal = await ballots.closed(session, principal, proposal_id, keys=keys)
    published = await governance.published(session, proposal)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["receipt_hash", "member_class", "vote", "ranking", "approve"])
    for ballot in published["ballots"]:
        content = ballot["content"]
        writer.writerow(
            [
                ballot["receipt_hash"],
                ballot["member_class"],
                content.get("vote", ""),
                ">".join(content.get("ranking", [])),
                ";".join(content.get("approve", [])),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ballots-{proposal.id}.csv"'},
    )


@router.get(
    "/{proposal_id}/verify",
    summary="Check a receipt",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def verify(
    session: SessionDep,
    principal: Voter,
    keys: BallotKeysDep,
    proposal_id: uuid.UUID,
    receipt: Annotated[str, Query(min_length=8, max_length=64)],
) -> Verification:
    """After the close: whether the ballot with this receipt is in the published list, and what
    it says."""
    return await ballots.verify(session, principal, proposal_id, receipt, keys=keys)
