"""The connection pool pings a connection that rested before handing it out (not one used a
moment ago), and replaces one the database dropped meanwhile."""

from typing import Any

import pytest
from sqlalchemy import event, text

from app import db
from app.db import create_engine
from tests.conftest import Database, make_settings

pytestmark = pytest.mark.postgresql_only


def _pings(engine: Any) -> list[str]:
    """What the pool's pings send (asyncpg pings with a lone `;`, through no cursor): counted
    by wrapping the dialect's ping."""
    sent: list[str] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append("ping")
        return bool(ping(dbapi_connection))

    engine.dialect.do_ping = counted
    return sent


async def test_a_connection_used_a_moment_ago_is_not_pinged_a_rested_one_is(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(make_settings(database.url))
    pings = _pings(engine)
    try:
        for _ in range(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(db, "PING_AFTER_REST_SECONDS", -1.0)  # as if it rested for long
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        assert pings == ["ping"]
    finally:
        await engine.dispose()


async def test_a_rested_connection_the_database_dropped_is_replaced_before_use(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(make_settings(database.url, db_pool_size=1, db_max_overflow=0))
    connects: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: connects.append(1))
    try:
        async with engine.connect() as connection:
            backend = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with database.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            await other.commit()
        monkeypatch.setattr(db, "PING_AFTER_REST_SECONDS", -1.0)
        async with engine.connect() as connection:  # no error: a new connection is made
            now_backend = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert now_backend != backend
        assert len(connects) == 2
    finally:
        await engine.dispose()
