"""The async engine and the request's session: one transaction per request, committed here."""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

import app.models  # noqa: F401  (every table registered before any session flushes)
from app.settings import Settings
from cooperative.kernel.errors import TequioError


def create_engine(settings: Settings) -> AsyncEngine:
    """SQLite: foreign keys on, WAL, a busy timeout, and write-locking transactions.

    SQLite's driver normally starts transactions lazily and cannot upgrade a read into a write
    under contention; here every transaction is `BEGIN IMMEDIATE`, so concurrent writers queue on
    the busy timeout instead of failing, and savepoints behave. PostgreSQL gets a sized pool.
    """
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, hide_parameters=True)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,  # errors must not log emails, hashes or health data
    )


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    in_memory = ":memory:" in engine.url.database if engine.url.database else True

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


T = TypeVar("T")
_finishing: set["asyncio.Future[Any]"] = set()


async def to_completion(work: Awaitable[T]) -> T:
    """Run one unit of database work to its end even when the task awaiting it is cancelled.

    Background tasks (a socket's watch, a relay's heartbeat) are cancelled when their socket or
    relay goes away. With SQLite, cancelling a session mid-statement strands its transaction: the
    driver's thread still runs the `BEGIN IMMEDIATE` after the caller has gone, the connection goes
    back to the pool holding the write lock, and every other writer then times out. The caller
    still sees its cancellation at once; the work finishes and closes its session behind it.
    """
    future = asyncio.ensure_future(work)
    _finishing.add(future)
    future.add_done_callback(_finishing.discard)
    return await asyncio.shield(future)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Open a session the way a request does and run a trivial query."""
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except TequioError as error:
            if error.persist_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": the commit runs when the handler returns, before the response is sent, so a
# client never sees success for a transaction that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
