"""Ballot secrecy against a copy of the database files, read byte by byte as a thief would.

Four members vote (one replaces their ballot), the vote closes, and the files are copied during
the vote and after the close: SQLite's database, write-ahead log and shared memory; PostgreSQL's
relation files and the WAL segments the casts wrote. In none of them does a voter's roll entry
pair with a published ballot, while the published list, the receipts and the count still work.
"""

import asyncio
import sqlite3
import subprocess
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.bylaws.defaults import default_bylaws
from cooperative.governance.models import SealedBallot
from cooperative.kernel.principal import Role
from tests import forensics
from tests.conftest import Database
from tests.factories import account_with_role, bearer, login
from tests.governance_support import close, install, open_vote, patient_owner, propose, vote

CHOICES = ["yes", "no", "yes", "abstain"]


async def _vote_of_four(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> tuple[httpx.AsyncClient, dict[str, Any], dict[str, Any], dict[str, uuid.UUID]]:
    """A client, its admin, an open resolution and the ids of four members on its roll."""
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install(committed, default_bylaws())
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    owners = [await patient_owner(client, admin) for _ in CHOICES]
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    members = {o["member"]["id"]: uuid.UUID(o["member"]["id"]) for o in owners}
    admin["owners"] = owners
    return client, admin, draft, members


async def _cast(
    client: httpx.AsyncClient, owners: list[dict[str, Any]], proposal_id: str
) -> dict[str, str]:
    """Each member votes, and the last replaces their ballot; their receipt hash, by member."""
    hashes: dict[str, str] = {}
    for tokens, choice in zip(owners, CHOICES, strict=True):
        cast = await vote(client, tokens, proposal_id, vote=choice)
        assert cast.status_code == 200, cast.text
        hashes[tokens["member"]["id"]] = cast.json()["receipt_hash"]
        receipt = cast.json()["receipt"]
    replaced = await vote(client, owners[-1], proposal_id, vote="no", receipt=receipt)
    assert replaced.json()["replaced"] is True
    return hashes


async def _after_the_close(
    client: httpx.AsyncClient, admin: dict[str, Any], proposal_id: str
) -> set[bytes]:
    """Close the vote, let the work it leaves in the background finish, and return the
    published receipt hashes (what anyone may download)."""
    await close(client, admin, proposal_id)
    app = client._transport.app  # type: ignore[attr-defined]
    await asyncio.gather(*list(app.state.background))
    published = (
        await client.get(f"/v1/proposals/{proposal_id}/ballots.json", headers=bearer(admin))
    ).json()
    assert sorted(b["content"]["vote"] for b in published["ballots"]) == ["no", "no", "yes", "yes"]
    return {b["receipt_hash"].encode() for b in published["ballots"]}


def _copy(database: Path, into: Path) -> dict[str, bytes]:
    """The database's files as a backup or a thief would copy them: db, -wal and -shm. Copied by
    another process: closing a file this process opened would drop SQLite's POSIX locks on it."""
    into.mkdir()
    files = {}
    for suffix in ("", "-wal", "-shm"):
        source = database.with_name(database.name + suffix)
        if source.exists():
            subprocess.run(["cp", str(source), str(into)], check=True)
        files[suffix or "db"] = forensics.read(into / source.name)
    return files


@pytest.mark.sqlite_only
async def test_a_copy_of_the_sqlite_files_pairs_no_voter_with_a_ballot(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database, tmp_path: Path
) -> None:
    client, admin, draft, members = await _vote_of_four(live_client_with, database)
    path = Path(str(make_url(database.url).database))
    with closing(sqlite3.connect(path)) as direct:  # an empty log: every frame is from the casts
        assert direct.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    truth = await _cast(client, admin["owners"], draft["id"])
    during = _copy(path, tmp_path / "during")
    async with database.engine.connect() as connection:
        sealed = list(
            (
                await connection.execute(
                    select(col(SealedBallot.sealed)).where(
                        col(SealedBallot.proposal_id) == uuid.UUID(draft["id"])
                    )
                )
            ).scalars()
        )
    published = await _after_the_close(client, admin, draft["id"])
    after = _copy(path, tmp_path / "after")

    assert published == {h.encode() for h in truth.values()}
    voted = {m: forensics.sqlite_voted(uuid.UUID(draft["id"]), i) for m, i in members.items()}
    for copy in (during, after):
        pairs = forensics.pair_by_transaction(
            forensics.sqlite_transactions(copy["-wal"]), voted, published
        )
        right = sum(truth[m].encode() == h for m, h in pairs.items())
        assert (len(pairs), right) == (0, 0), f"the log pairs {right} of 4 voters"
    everything = b"".join(during.values())
    assert not any(h in everything for h in published)  # no receipt hash before the close
    assert b'"vote"' not in during["-wal"]  # nor what anyone voted, in any frame of the casts
    assert len(sealed) == 4 and len({len(s) for s in sealed}) == 1  # one length for every vote
    for blob in sealed:  # the log is emptied and the freed pages zeroed: the sealed rows are gone
        assert not any(blob in copy for copy in after.values())


@pytest.mark.postgresql_only
async def test_a_copy_of_the_postgresql_files_pairs_no_voter_with_a_ballot(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, admin, draft, members = await _vote_of_four(live_client_with, database)

    async def one(query: str) -> Any:
        async with database.engine.connect() as connection:
            return (await connection.execute(text(query))).scalar_one()

    data = Path(await one("SHOW data_directory"))
    if not (data / "pg_wal").is_dir() or not (data / "base").exists():
        pytest.skip(f"PostgreSQL's data directory {data} is not readable from the tests")
    segment_size = int(await one("SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"))
    start = await one("SELECT pg_current_wal_insert_lsn()::text")
    timeline = (await one("SELECT pg_walfile_name(pg_current_wal_insert_lsn())"))[:8]
    truth = await _cast(client, admin["owners"], draft["id"])
    end = await one("SELECT pg_current_wal_insert_lsn()::text")
    sealed_before = await one("SELECT pg_relation_filepath('sealed_ballot')")
    published = await _after_the_close(client, admin, draft["id"])
    async with database.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("CHECKPOINT"))  # every page on disk, as a backup has it
        paths = {
            table: (
                await connection.execute(text(f"SELECT pg_relation_filepath('{table}')"))
            ).scalar_one()
            for table in ("proposal_voter", "ballot", "sealed_ballot")
        }
    files = {table: forensics.pg_relation(data, path) for table, path in paths.items()}

    assert published == {h.encode() for h in truth.values()}
    pairs = forensics.pair_by_xmin(files["proposal_voter"], files["ballot"], members, published)
    right = sum(truth[m].encode() == h for m, h in pairs.items())
    assert (len(pairs), right) == (0, 0), f"the row versions pair {right} of 4 voters"
    writers = {  # every version holding a published ballot: the close's rows, none older
        xmin
        for xmin, version in forensics.pg_row_versions(files["ballot"])
        if any(h in version for h in published)
    }
    assert len(writers) == 1
    assert not any(h in files["proposal_voter"] + files["sealed_ballot"] for h in published)
    wal = forensics.pg_wal_between(
        data / "pg_wal", timeline, forensics.lsn(start), forensics.lsn(end), segment_size
    )
    assert len(wal) > 0
    assert not any(h in wal for h in published)  # the casts' WAL holds only sealed ballots
    assert paths["sealed_ballot"] != sealed_before  # rewritten: the old file is emptied
    assert forensics.read(data / sealed_before) == b""
