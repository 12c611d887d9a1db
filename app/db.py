"""The async engine and the request's session: one transaction per request, committed here."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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
    """SQLite: foreign keys on, WAL, a busy timeout, deleted rows zeroed, and write-locking
    transactions.

    SQLite's driver normally starts transactions lazily and cannot upgrade a read into a write
    under contention; here every transaction is `BEGIN IMMEDIATE`, so concurrent writers queue on
    the busy timeout instead of failing, and savepoints behave. PostgreSQL gets a sized pool whose
    connections are pinged when they come back into use after a rest (`_ping_after_rest`).
    """
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, hide_parameters=True)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        hide_parameters=True,  # errors must not log emails, hashes or health data
    )
    _ping_after_rest(engine)
    return engine


PING_AFTER_REST_SECONDS = 5.0
_RESTING_SINCE = "tequio.resting_since"


def _ping_after_rest(engine: AsyncEngine) -> None:
    """A pooled connection that rested in the pool more than PING_AFTER_REST_SECONDS is pinged
    before it is handed out, and replaced if the database does not answer on it (restarted,
    failed over, or the connection cut by a firewall meanwhile).

    SQLAlchemy's `pool_pre_ping` pings before every use: a round trip to the database on every
    request, a third of what an authenticated read costs. A connection used a moment ago needs
    no ping: if the database went away since, the request using it fails like one caught
    mid-statement would, and SQLAlchemy, seeing a disconnection, discards every connection of the
    pool made before it, so the requests after it get new ones.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _rest(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_RESTING_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _wake(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any) -> None:
        resting_since = record.info.pop(_RESTING_SINCE, None)
        if resting_since is None or time.monotonic() - resting_since <= PING_AFTER_REST_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards this connection and tries another
            raise DisconnectionError("the connection did not answer a ping") from exc


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    in_memory = ":memory:" in engine.url.database if engine.url.database else True

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA secure_delete=ON")  # freed cells and pages are overwritten
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


log = logging.getLogger("tequio.db")
UPKEEP_PATIENCE_MS = 100
T = TypeVar("T")
AfterCommit = Callable[[AsyncSession], None]
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
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(_orphan_ended)  # nobody awaits it any more
        raise


def _orphan_ended(future: "asyncio.Future[Any]") -> None:
    """Work whose caller was cancelled: a failure is logged here, not lost as 'exception never
    retrieved'."""
    if not future.cancelled() and (error := future.exception()) is not None:
        log.warning("background database work failed after its caller left", exc_info=error)


async def in_own_session(
    sessionmaker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    commit: bool = True,
) -> T:
    """The one way background work (a socket, a relay, the sweep) touches the database: `work`
    runs in a session and transaction of its own, never a request's, committed when it returns
    (unless `commit` is False: a read) and rolled back when it raises, and it runs to its end
    even when the task awaiting it is cancelled (see `to_completion`)."""

    async def run() -> T:
        async with sessionmaker() as session:
            result = await work(session)
            if commit:
                await session.commit()
            return result

    return await to_completion(run())


AfterCommitWork = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "tequio.after_commit"


def after_commit(session: AsyncSession, work: AfterCommitWork) -> None:
    """Run `work` once the request's transaction has committed, and never if it rolls back:
    telling the consult's sockets, starting a relay, deleting files a change made obsolete. The
    response waits for it; a failure is logged, since what it follows has already committed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(work)


async def _after_commit(session: AsyncSession, chores: list[AfterCommit]) -> None:
    for chore in chores:  # app-wide: each looks in `session.info` for work of its own
        chore(session)
    for work in session.info.pop(_AFTER_COMMIT, []):
        try:
            await work()
        except Exception:
            log.exception("work after a commit failed")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Open a session the way a request does and run a trivial query."""
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))


@asynccontextmanager
async def upkeep_connection(
    engine: AsyncEngine, busy_timeout_ms: int
) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for background upkeep, which must never hold requests up: on SQLite
    it gives up after a moment instead of queueing for the write lock, and gets its patience
    back (`busy_timeout_ms`) before it returns to the pool."""
    async with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            yield connection
            return
        await _sqlite_pragma(connection, f"PRAGMA busy_timeout={UPKEEP_PATIENCE_MS}")
        try:
            yield connection
        finally:
            await _sqlite_pragma(connection, f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


async def forget_deleted(
    connection: AsyncConnection, *, rewrite: Sequence[str], vacuum: Sequence[str]
) -> bool:
    """Make the database files forget rows that committed transactions deleted or replaced;
    False when another connection was in the way (try again later). Outside any transaction.

    SQLite zeroes what it frees (`secure_delete`), but its write-ahead log keeps the page images
    of earlier transactions: the log is copied into the database and truncated. PostgreSQL keeps
    dead row versions in the table's pages, and VACUUM only marks their space free (the bytes
    stay until reused): the `rewrite` tables are copied into new files (VACUUM FULL, the old ones
    emptied; an exclusive lock for the copy, so for small tables, given up after a second), the
    `vacuum` ones get a plain VACUUM.
    """
    if connection.dialect.name == "sqlite":
        busy, _log, _done = await _sqlite_pragma(connection, "PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(busy == 0)
    await connection.execution_options(isolation_level="AUTOCOMMIT")
    for table in [*rewrite, *vacuum]:  # VACUUM only warns, and skips, a table it may not touch
        owner = text(
            "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = CAST(:t AS regclass)"
        )
        if not (await connection.execute(owner, {"t": table})).scalar_one():
            raise PermissionError(f"the database user does not own {table}: it cannot vacuum it")
    await connection.exec_driver_sql(f"SET lock_timeout = {UPKEEP_PATIENCE_MS * 10}")
    try:
        for table in rewrite:
            await connection.exec_driver_sql(f'VACUUM (FULL) "{table}"')
        if vacuum:
            await connection.exec_driver_sql("VACUUM " + ", ".join(f'"{t}"' for t in vacuum))
    finally:
        await connection.exec_driver_sql("RESET lock_timeout")
    return True


async def _sqlite_pragma(connection: AsyncConnection, pragma: str) -> tuple[Any, ...]:
    """Run a pragma on the driver's connection, outside SQLAlchemy's transactions (which begin
    with `BEGIN IMMEDIATE` here); its first row."""
    raw = await connection.get_raw_connection()
    cursor = await raw.driver_connection.execute(pragma)  # type: ignore[union-attr]
    try:
        row = await cursor.fetchone()
    finally:
        await cursor.close()
    return tuple(row) if row is not None else ()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    chores: list[AfterCommit] = request.app.state.after_commit
    async with sessionmaker() as session:
        try:
            yield session
        except TequioError as error:
            if error.persist_changes:
                await session.commit()
                await _after_commit(session, chores)
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
            await _after_commit(session, chores)


# scope="function": the commit runs when the handler returns, before the response is sent, so a
# client never sees success for a transaction that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
