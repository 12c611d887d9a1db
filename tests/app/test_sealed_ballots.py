"""Sealed ballots through the API: another ballot secret is refused without harm, ballots cast
before sealing still count, and the files forget the casts once the database lets them."""

import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import col

from app import governance as upkeep
from app.db import create_sessionmaker
from app.main import create_app
from cooperative.bylaws.defaults import default_bylaws
from cooperative.governance.ballots import new_receipt
from cooperative.governance.models import Ballot, Proposal, ProposalVoter
from cooperative.governance.sealing import receipt_hash
from cooperative.kernel.principal import Role
from tests.conftest import TEST_ADDRESS, Database, make_settings
from tests.factories import account_with_role, bearer, login
from tests.governance_support import close, install, open_vote, patient_owner, propose, vote

Sessions = async_sessionmaker[AsyncSession]


async def test_another_ballot_secret_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    database: Database,
) -> None:
    await install(sessionmaker, default_bylaws())
    rosa, juan = await patient_owner(client, admin), await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    first = (await vote(client, rosa, draft["id"], vote="yes")).json()
    moved = create_app(  # the operator restarted the server with another TEQUIO_BALLOT_SECRET
        make_settings(database.url, ballot_secret="another ballot secret, forty characters"),
        engine=database.engine,
        sessionmaker=sessionmaker,
    )
    transport = httpx.ASGITransport(app=moved, client=(TEST_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as other:
        refused = [
            await vote(other, juan, draft["id"], vote="no"),
            await vote(other, rosa, draft["id"], vote="no", receipt=first["receipt"]),
            await other.post(
                f"/v1/proposals/{draft['id']}/close",
                headers={**bearer(admin), "Accept-Language": "en"},
            ),
        ]
    for answer in refused:
        assert answer.status_code == 503
        assert answer.json()["type"].endswith("/ballots-unreadable")
    assert "must restore that secret" in refused[-1].json()["detail"]
    seen = (await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(juan))).json()
    assert seen["status"] == "open"
    assert seen["turnout"]["voted"]["patient"] == 1
    assert seen["you"]["voted"] is False  # juan may still vote, with the secret restored
    assert (await vote(client, juan, draft["id"], vote="no")).status_code == 200
    await close(client, admin, draft["id"])
    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(juan))
    ).json()
    assert sorted(b["content"]["vote"] for b in published["ballots"]) == ["no", "yes"]


async def test_a_ballot_cast_before_ballots_were_sealed_is_replaced_and_counted(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    rosa, juan = await patient_owner(client, admin), await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    receipt = new_receipt()
    async with sessionmaker() as session:  # as the previous version stored it: in the clear
        proposal = await session.get(Proposal, uuid.UUID(draft["id"]))
        assert proposal is not None
        proposal.seal_check = None
        await session.execute(
            update(ProposalVoter)
            .where(col(ProposalVoter.member_id) == uuid.UUID(rosa["member"]["id"]))
            .values(voted=True)
        )
        session.add(
            Ballot(
                proposal_id=proposal.id,
                member_class="patient",
                receipt_hash=receipt_hash(receipt),
                content={"vote": "no"},
            )
        )
        await session.commit()
    replaced = await vote(client, rosa, draft["id"], vote="yes", receipt=receipt)
    assert replaced.status_code == 200
    assert replaced.json()["receipt_hash"] == receipt_hash(receipt)
    assert (await vote(client, juan, draft["id"], vote="yes")).status_code == 200
    closed = await close(client, admin, draft["id"])
    assert closed["passed"] is True
    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(juan))
    ).json()
    assert [b["content"]["vote"] for b in published["ballots"]] == ["yes", "yes"]
    assert receipt_hash(receipt) in {b["receipt_hash"] for b in published["ballots"]}


async def test_the_sweep_makes_the_files_forget_what_a_busy_database_kept(
    live_client_with: Callable[..., httpx.AsyncClient],
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader holding SQLite's log, or a transaction holding PostgreSQL's sealed ballots,
    keeps the request that closed the vote from making the files forget; it gives up at once
    rather than wait, and a later pass (the sweep's) does it."""
    monkeypatch.setattr(upkeep, "FORGET_PAUSES", (0.0,))
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install(committed, default_bylaws())
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    rosa = await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    assert (await vote(client, rosa, draft["id"], vote="yes")).status_code == 200

    async def scrubbed() -> bool:
        async with committed() as session:
            found = await session.execute(
                select(col(Proposal.scrubbed_at)).where(col(Proposal.id) == uuid.UUID(draft["id"]))
            )
            return found.scalar_one() is not None

    holder = await _hold(database)
    try:
        await close(client, admin, draft["id"])
        app = client._transport.app  # type: ignore[attr-defined]
        for task in list(app.state.background):
            await task
        assert not await scrubbed()
    finally:
        await holder()
    assert await upkeep.forget_closed_votes(database.engine, settings) == 1
    assert await scrubbed()
    assert await upkeep.forget_closed_votes(database.engine, settings) == 0  # nothing left


async def _hold(database: Database) -> Callable[[], Any]:
    """Something that stops the files from forgetting now; returns how to let go of it."""
    if database.backend == "sqlite":
        reader = sqlite3.connect(str(make_url(database.url).database), isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM proposal").fetchone()  # a snapshot of the log

        async def release_reader() -> None:
            reader.execute("COMMIT")
            reader.close()

        return release_reader
    connection = await database.engine.connect()
    await connection.execute(text("SELECT count(*) FROM sealed_ballot"))  # a lock until commit

    async def release_lock() -> None:
        await connection.commit()
        await connection.close()

    return release_lock


@pytest.mark.postgresql_only
async def test_a_database_user_that_cannot_vacuum_is_told_not_marked_done(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """PostgreSQL's VACUUM only warns about a table it may not touch and skips it: the files
    would keep the casts while the vote looked done. A user without the tables is an error."""
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install(committed, default_bylaws())
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    rosa = await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    assert (await vote(client, rosa, draft["id"], vote="yes")).status_code == 200
    await close(client, admin, draft["id"])
    for task in list(client._transport.app.state.background):  # type: ignore[attr-defined]
        await task
    async with committed() as session:  # as if that had not happened yet
        await session.execute(update(Proposal).values(scrubbed_at=None))
        await session.commit()
    reader = create_async_engine(  # PostgreSQL's predefined role: reads all, owns nothing
        database.url, connect_args={"server_settings": {"role": "pg_read_all_data"}}
    )
    try:
        with pytest.raises(PermissionError, match="does not own sealed_ballot"):
            await upkeep.forget_closed_votes(reader, settings)
    finally:
        await reader.dispose()
    assert await upkeep.forget_closed_votes(database.engine, settings) == 1
