"""One transaction per request: a failing request leaves nothing behind, unless its error is one
that records something on purpose (a detected token theft)."""

import asyncio
import contextlib
import uuid
from typing import ClassVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db import SessionDep, after_commit, create_sessionmaker, in_own_session
from app.main import create_app
from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.kernel.errors import TequioError, Text
from tests.conftest import Database, _empty_tables


class Refused(TequioError):
    status = 409
    slug = "refused"
    title = Text("Refused", "Rechazado")
    detail = Text("Refused.", "Rechazado.")


class RefusedButRecorded(Refused):
    persist_changes: ClassVar[bool] = True


async def _count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Account))).scalar_one()


async def test_an_error_after_a_write_rolls_the_write_back_unless_it_persists(
    database: Database, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)

    async def write_then_fail(session: SessionDep, keep: bool = False) -> None:
        session.add(Account(email=f"tx-{keep}@example.org", display_name="T", password_hash="x"))
        await session.flush()
        raise (RefusedButRecorded() if keep else Refused())

    app.add_api_route("/test/write-then-fail", write_then_fail, methods=["POST"])
    before = await _count(sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/test/write-then-fail")).status_code == 409
        assert await _count(sessionmaker) == before
        assert (await client.post("/test/write-then-fail?keep=true")).status_code == 409
        assert await _count(sessionmaker) == before + 1


async def test_work_after_the_commit_runs_only_when_the_request_commits(
    database: Database, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Telling sockets or deleting files must follow a change that stands, never one rolled back;
    and what it sees is what was committed."""
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
    seen: list[tuple[str, int]] = []

    async def change(session: SessionDep, fail: bool = False) -> None:
        session.add(Account(email=f"after-{fail}@example.org", display_name="T", password_hash="x"))

        async def tell() -> None:
            seen.append(("told", await _count(sessionmaker)))

        after_commit(session, tell)
        if fail:
            raise Refused()

    app.add_api_route("/test/change", change, methods=["POST"])
    before = await _count(sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/test/change?fail=true")).status_code == 409
        assert seen == []
        assert (await client.post("/test/change")).status_code == 200
    assert seen == [("told", before + 1)]


async def test_background_work_commits_to_its_end_even_when_its_task_is_cancelled(
    database: Database,
) -> None:
    """A socket's task is cancelled when the socket goes; what it started writing still commits
    (on SQLite a half-done transaction would keep the write lock from everyone)."""
    sessions = create_sessionmaker(database.engine)
    email = f"uow-{uuid.uuid4().hex[:8]}@example.org"
    started = asyncio.Event()

    async def slow_write(session: AsyncSession) -> None:
        session.add(Account(email=email, display_name="T", password_hash="x"))
        await session.flush()
        started.set()
        await asyncio.sleep(0.2)

    task = asyncio.create_task(in_own_session(sessions, slow_write))
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.5)
    try:
        async with sessions() as session:
            found = await session.execute(select(Account).where(col(Account.email) == email))
            assert found.scalar_one_or_none() is not None
    finally:
        await _empty_tables(database.engine)
