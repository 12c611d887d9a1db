"""Races in voting, on SQLite and PostgreSQL with requests that each commit for real."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.bylaws.defaults import default_bylaws
from cooperative.governance.models import ProposalEvent, ProposalVoter, SealedBallot
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from tests.conftest import Database
from tests.factories import account_with_role, bearer, login
from tests.governance_support import amended, install, open_vote, patient_owner, propose, vote


async def _setup(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> tuple[httpx.AsyncClient, dict[str, Any], Any]:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install(committed, default_bylaws())
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    return client, admin, committed


async def test_concurrent_casts_by_one_member_count_one_ballot(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, admin, committed = await _setup(live_client_with, database)
    member = await patient_owner(client, admin)
    others = [await patient_owner(client, admin) for _ in range(4)]
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    answers = await asyncio.gather(
        *(vote(client, member, draft["id"], vote=c) for c in ["yes", "no"] * 5),
        *(vote(client, o, draft["id"], vote="yes") for o in others),
    )
    mine = [a.status_code for a in answers[:10]]
    assert sorted(mine) == [200] + [409] * 9
    assert all(a.status_code == 200 for a in answers[10:])
    async with committed() as session:
        ballots = (
            await session.execute(select(func.count()).select_from(SealedBallot))
        ).scalar_one()
        voted = (
            await session.execute(select(func.count()).where(col(ProposalVoter.voted)))
        ).scalar_one()
    assert (ballots, voted) == (5, 5)
    seen = (await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(admin))).json()
    assert seen["turnout"]["voted"]["patient"] == 5


async def test_concurrent_replacements_leave_one_ballot_holding_one_of_them(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, admin, committed = await _setup(live_client_with, database)
    member = await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    receipt = (await vote(client, member, draft["id"], vote="abstain")).json()["receipt"]
    answers = await asyncio.gather(
        *(vote(client, member, draft["id"], vote=c, receipt=receipt) for c in ["yes", "no"] * 4)
    )
    assert all(a.status_code == 200 for a in answers)
    async with committed() as session:
        sealed = (await session.execute(select(func.count()).select_from(SealedBallot))).scalar()
    assert sealed == 1
    closed = await client.post(f"/v1/proposals/{draft['id']}/close", headers=bearer(admin))
    assert closed.status_code == 200
    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(admin))
    ).json()["ballots"]
    assert len(published) == 1
    assert published[0]["content"]["vote"] in ("yes", "no")


async def test_a_vote_whose_time_is_up_closes_once_under_concurrent_requests(
    live_client_with: Callable[..., httpx.AsyncClient],
    database: Database,
    travel: Callable[[datetime], None],
) -> None:
    client, admin, committed = await _setup(live_client_with, database)
    owners = [await patient_owner(client, admin) for _ in range(3)]
    closes = clock.now() + timedelta(minutes=10)
    draft = await propose(
        client,
        admin,
        "bylaw_amendment",
        document=amended(default_bylaws(), MXN=1800),
        effective_from=closes.isoformat(),
    )
    await open_vote(client, admin, draft["id"], closes_at=closes)
    for tokens in owners:
        assert (await vote(client, tokens, draft["id"], vote="yes")).status_code == 200
    travel(closes + timedelta(seconds=1))  # the close passes, however slow the machine
    url = f"/v1/proposals/{draft['id']}"
    answers = await asyncio.gather(
        *(client.get(f"{url}/result", headers=bearer(o)) for o in owners),
        *(client.get(url, headers=bearer(admin)) for _ in range(3)),
        client.get("/v1/proposals", headers=bearer(admin)),
        vote(client, owners[0], draft["id"], vote="no"),
    )
    assert [a.status_code for a in answers[:-1]] == [200] * 7
    assert answers[-1].status_code == 409  # too late to vote
    assert {a.json()["passed"] for a in answers[:3]} == {True}
    async with committed() as session:
        results = (
            await session.execute(select(func.count()).where(col(ProposalEvent.kind) == "result"))
        ).scalar_one()
    assert results == 1
    versions = (await client.get("/v1/bylaws/versions")).json()["items"]
    assert [v["number"] for v in versions] == [1, 2]


async def test_after_the_close_no_row_metadata_pairs_a_voter_with_a_ballot(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """While voting runs, PostgreSQL stamps a voter's row and their new sealed ballot with the
    same transaction id (which is why the ballot is sealed); the close publishes the ballots and
    rewrites the roll so that neither the transaction ids nor the physical order say anything.
    SQLite keeps published ballots in a table without rowid, ordered by their random id."""
    client, admin, committed = await _setup(live_client_with, database)
    owners = [await patient_owner(client, admin) for _ in range(4)]
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    for tokens, choice in zip(owners, ["yes", "no", "yes", "abstain"], strict=True):
        assert (await vote(client, tokens, draft["id"], vote=choice)).status_code == 200
    async with committed() as session:
        if database.backend == "postgresql":
            voted = "SELECT xmin::text FROM proposal_voter WHERE voted"
            before = {r[0] for r in await session.execute(text(voted))}
            sealed = "SELECT xmin::text FROM sealed_ballot"
            ballots = {r[0] for r in await session.execute(text(sealed))}
            assert before == ballots  # the pairing exists while voting, of sealed ballots only
        else:
            with pytest.raises(OperationalError):
                await session.execute(text("SELECT rowid FROM ballot"))
    closed = await client.post(f"/v1/proposals/{draft['id']}/close", headers=bearer(admin))
    assert closed.status_code == 200
    async with committed() as session:
        voters = (await session.execute(select(ProposalVoter))).scalars().all()
        assert sum(v.voted for v in voters) == 4
        if database.backend == "postgresql":
            stamps = {
                r[0]
                for query in (
                    "SELECT xmin::text FROM proposal_voter",
                    "SELECT xmin::text FROM ballot",
                )
                for r in await session.execute(text(query))
            }
            assert len(stamps) == 1
            order = [
                r[0]
                for r in await session.execute(
                    text("SELECT receipt_hash FROM ballot ORDER BY ctid")
                )
            ]
            assert order == sorted(order)
    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(admin))
    ).json()
    assert sorted(b["content"]["vote"] for b in published["ballots"]) == [
        "abstain",
        "no",
        "yes",
        "yes",
    ]


async def test_two_amendments_closing_together_become_two_versions(
    live_client_with: Callable[..., httpx.AsyncClient],
    database: Database,
    travel: Callable[[datetime], None],
) -> None:
    client, admin, _ = await _setup(live_client_with, database)
    owners = [await patient_owner(client, admin) for _ in range(3)]
    closes = clock.now() + timedelta(minutes=10)
    drafts = [
        await propose(
            client,
            admin,
            "bylaw_amendment",
            document=amended(default_bylaws(), MXN=figure),
            effective_from=closes.isoformat(),
        )
        for figure in (1700, 1900)
    ]
    for draft in drafts:
        await open_vote(client, admin, draft["id"], closes_at=closes)
        for tokens in owners:
            assert (await vote(client, tokens, draft["id"], vote="yes")).status_code == 200
    travel(closes + timedelta(seconds=1))  # the close passes, however slow the machine
    answers = await asyncio.gather(
        *(client.get(f"/v1/proposals/{d['id']}/result", headers=bearer(admin)) for d in drafts)
    )
    assert [a.status_code for a in answers] == [200, 200]
    versions = (await client.get("/v1/bylaws/versions")).json()["items"]
    assert sorted(v["number"] for v in versions) == [1, 2, 3]
    adopted = {v["proposal_id"] for v in versions if v["number"] > 1}
    assert adopted == {d["id"] for d in drafts}


async def test_a_ballot_retried_with_its_key_gets_the_same_receipt(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """Rosa's vote went through but the answer, with the receipt shown only once, was lost on
    a bad link; her phone sends the same ballot again with the same key, even several times at
    once: one ballot is stored and every answer carries the same receipt."""
    client, admin, committed = await _setup(live_client_with, database)
    rosa, juan = await patient_owner(client, admin), await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])

    def cast(tokens: dict[str, Any], key: str, choice: str = "yes") -> Any:
        return client.post(
            f"/v1/proposals/{draft['id']}/ballots",
            json={"vote": choice},
            headers={**bearer(tokens), "Idempotency-Key": key},
        )

    key = "0b6f5a3e-2c41-4d8e-9f1a-7c3b2e5d4a10"
    answers = await asyncio.gather(*(cast(rosa, key) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    receipts = {a.json()["receipt"] for a in answers}
    assert len(receipts) == 1
    later = await cast(rosa, key)
    assert later.status_code == 200 and later.json()["receipt"] in receipts

    # the same key from another voter is that voter's own ballot, with its own receipt
    other = await cast(juan, key, "no")
    assert other.status_code == 200 and other.json()["receipt"] not in receipts
    # another key, or the same key with another ballot, is not a retry
    another = "5d1c9e2a-7b34-4f60-8a9d-2e6f1b3c4d58"
    assert (await cast(rosa, another)).json()["type"].endswith("/already-voted")
    changed = await cast(rosa, key, "no")
    assert changed.status_code == 422
    assert changed.json()["type"].endswith("/idempotency-key-reused")
    async with committed() as session:
        sealed = (await session.execute(select(func.count()).select_from(SealedBallot))).scalar()
    assert sealed == 2

    # the receipt works as any receipt: it replaces the ballot, and the close counts it
    (receipt,) = receipts
    replaced = await vote(client, rosa, draft["id"], vote="abstain", receipt=receipt)
    assert replaced.status_code == 200 and replaced.json()["replaced"] is True
    closed = await client.post(f"/v1/proposals/{draft['id']}/close", headers=bearer(admin))
    assert closed.status_code == 200
    checked = await client.get(
        f"/v1/proposals/{draft['id']}/verify", params={"receipt": receipt}, headers=bearer(rosa)
    )
    assert checked.json()["included"] is True and checked.json()["content"] == {"vote": "abstain"}
    # and after the close a retry is refused like any ballot: the vote is over
    assert (await cast(rosa, key)).status_code == 409


async def test_a_guessable_ballot_key_is_refused(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, admin, _ = await _setup(live_client_with, database)
    rosa = await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    for guessable in ("1", "vote-rosa-0000001", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"):
        short = await client.post(
            f"/v1/proposals/{draft['id']}/ballots",
            json={"vote": "yes"},
            headers={**bearer(rosa), "Idempotency-Key": guessable, "Accept-Language": "en"},
        )
        assert short.status_code == 422, guessable
        assert short.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert (await vote(client, rosa, draft["id"], vote="yes")).status_code == 200
