"""Losing the database: which errors mean it, and what one worker says about it in its log.

Which errors these are was found by stopping and restarting a PostgreSQL cluster under load
(bench/db_outage.py), not guessed:

- connecting while it is down: `ConnectionRefusedError` (or `ConnectionResetError` while it
  stops, or a plain `OSError` when several addresses were tried), raised by the driver as it is,
  not wrapped by SQLAlchemy;
- connecting while it stops or starts: SQLAlchemy's `DBAPIError` around asyncpg's
  `CannotConnectNowError` ("the database system is shutting down", "… is starting up", "… is not
  yet accepting connections");
- a connection it closes under a query: `DBAPIError` around asyncpg's
  `ConnectionDoesNotExistError` or `AdminShutdownError` (often with `connection_invalidated`),
  asyncpg's own `ConnectionError("unexpected connection_lost() call")`, and at times
  SQLAlchemy's `InternalError` around asyncpg's `InternalClientError` ("cannot switch to state
  …"), which SQLAlchemy marks `connection_invalidated`;
- no pooled connection free in time: SQLAlchemy's `TimeoutError`;
- SQLite: a database file that cannot be opened.

SQLite's "database is locked" (a writer waited past the busy timeout) is not the database
being gone: it stays a 500 with its traceback, like any other bug.
"""

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg.exceptions
from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.logs import scrub

log = logging.getLogger("tequio.db")

WARN_EVERY_SECONDS = 10.0
RETRY_AFTER_SECONDS = 2  # what a client is told to wait before trying again

_POSTGRES_GONE = (
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08: the connection failed
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up, shutting down
    asyncpg.exceptions.AdminShutdownError,  # 57P01: the server ended the session to stop
    asyncpg.exceptions.CrashShutdownError,  # 57P02: another backend crashed
)
_DRIVERS = ("asyncpg.", "sqlalchemy.", "aiosqlite.")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (`orig`), its causes and contexts, and an exception group's
    members; each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen or len(seen) > 50:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _raised_by_a_driver(error: BaseException) -> bool:
    """Whether the error came up through the database driver or SQLAlchemy's pool (a socket
    error there is the database's; one from a file or another service is not)."""
    frame = error.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith(_DRIVERS):
            return True
        frame = frame.tb_next
    return False


def _means_gone(error: BaseException) -> bool:
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (sa.TimeoutError, *_POSTGRES_GONE)):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "unable to open database file" in str(error)
    return isinstance(error, OSError) and _raised_by_a_driver(error)


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached now (see the module's docstring),
    rather than a bug: then the request may be tried again once it is back."""
    return any(_means_gone(link) for link in _chain(error))


def _cause(error: BaseException) -> str:
    """The driver's own words for it (SQLAlchemy's wrappers carry the statement too), without
    network addresses, like every line."""
    links = [link for link in _chain(error) if _means_gone(link)]
    deepest = [link for link in links if not isinstance(link, sa.SQLAlchemyError)]
    chosen = (deepest or links or [error])[-1]
    words = str(chosen).strip().splitlines()
    return f"{type(chosen).__name__}: {scrub(words[0][:200])}" if words else type(chosen).__name__


class OutageLog:
    """What one worker writes about losing its database. Each failed request has only its
    access line (status 503); besides, a warning names the cause when the first failure comes,
    then at most one every `every` seconds counting the failures since the previous one, and
    one line says when a connection is made again (`watch` an engine for that)."""

    def __init__(
        self, every: float = WARN_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self.down_since: float | None = None
        self.failures = 0  # since the last warning
        self.failures_in_outage = 0
        self.warned_at: float | None = None

    def failed(self, error: BaseException, where: str = "request") -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
        self.failures += 1
        self.failures_in_outage += 1
        if self.warned_at is not None and now - self.warned_at < self.every:
            return
        log.warning(
            "database unreachable: requests answer 503 until it is back",
            extra={
                "cause": _cause(error),
                "where": where,
                "failures": self.failures,
                "down_seconds": round(now - self.down_since, 1),
            },
        )
        self.warned_at, self.failures = now, 0

    def connected(self) -> None:
        """A new database connection was made: if the database had been away, say it is back."""
        if self.down_since is None:
            return
        log.warning(
            "database reachable again",
            extra={
                "down_seconds": round(self.clock() - self.down_since, 1),
                "failures": self.failures_in_outage,
            },
        )
        self.down_since, self.warned_at, self.failures, self.failures_in_outage = None, None, 0, 0

    def watch(self, engine: AsyncEngine) -> None:
        """Note each new connection the engine's pool makes (the first after an outage ends it)."""

        def on_connect(*_: Any) -> None:
            self.connected()

        event.listen(engine.sync_engine, "connect", on_connect)
