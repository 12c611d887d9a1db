"""One transaction per request: a failing request leaves nothing behind, unless its error is one
that records something on purpose (a detected token theft)."""

from typing import ClassVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import SessionDep
from app.main import create_app
from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.kernel.errors import TequioError, Text
from tests.conftest import Database


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
