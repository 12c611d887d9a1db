"""Test set-up: the suite runs once per database backend, each migrated once with Alembic.

SQLite always; PostgreSQL too when TEQUIO_TEST_DATABASE_URL is set or one answers on
127.0.0.1:5432 (database `test`). With CI=true a missing PostgreSQL is an error, not a skip.
Each test runs inside a transaction that is rolled back (requests commit to savepoints); tests of
races use `live_client`, whose requests commit for real, and the tables are emptied afterwards.
"""

import asyncio
import contextlib
import os
import re
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.migrate import upgrade_on
from app.models import metadata
from app.settings import Settings
from cooperative.kernel import clock

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Property tests check results, not speed: on a loaded two-core CI machine a 200 ms deadline
# fails examples that are merely slow (tests never assert wall-clock times).
hypothesis.settings.register_profile("tequio", deadline=None)
hypothesis.settings.load_profile("tequio")


def _move_the_clock() -> datetime | None:
    """`TEQUIO_TEST_NOW=2026-12-31T23:30:00-06:00` makes the whole run (and every server it
    starts, through the environment) happen from that instant on: the suite must pass at any
    hour, on any day, not only at the hour it was written."""
    wanted = os.environ.get("TEQUIO_TEST_NOW")
    if not wanted:
        return None
    moment = datetime.fromisoformat(wanted)
    if moment.tzinfo is None:
        raise pytest.UsageError("TEQUIO_TEST_NOW needs a UTC offset, e.g. 2026-12-31T23:30-06:00")
    offset = (moment - datetime.now(UTC)).total_seconds()
    os.environ["TEQUIO_CLOCK_OFFSET_SECONDS"] = f"{offset:.6f}"
    return moment


TEST_NOW = _move_the_clock()
DEFAULT_PG_URL = "postgresql+asyncpg://root@127.0.0.1:5432/test"
TEST_ADDRESS = "203.0.113.7"
# attachments uploaded by tests land here unless a test names its own store, never in the tree
TEST_ATTACHMENTS = Path(tempfile.mkdtemp(prefix="tequio-test-attachments-"))
# Every `tequio serve` a test starts notes where it runs (for `tequio demo-consult`) under
# XDG_STATE_HOME: in a folder of this process's own, not the developer's state directory, where
# another test's CLI running at the same moment would find it and work on its database.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="tequio-test-state-")


def _postgres_url() -> str | None:
    explicit = os.environ.get("TEQUIO_TEST_DATABASE_URL")
    if explicit:
        return explicit
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return DEFAULT_PG_URL
    except OSError:
        return None


POSTGRES_URL = _postgres_url()
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
if os.environ.get("TEQUIO_TEST_BACKENDS"):  # e.g. `sqlite` for a quick run, or a run moved in time
    BACKENDS = [b for b in BACKENDS if b in os.environ["TEQUIO_TEST_BACKENDS"].split(",")]
_USED_BACKENDS: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    make_settings("sqlite+aiosqlite://").start_clock()
    if (
        IN_CI
        and POSTGRES_URL is None
        and "postgresql" in os.environ.get("TEQUIO_TEST_BACKENDS", "postgresql")
    ):
        raise pytest.UsageError(
            "CI=true but PostgreSQL does not answer on 127.0.0.1:5432 and "
            "TEQUIO_TEST_DATABASE_URL is not set: the PostgreSQL run is required in CI."
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    moved = f"the clock starts at {TEST_NOW.isoformat()}" if TEST_NOW else "the clock is the host's"
    return [f"database backends: {', '.join(BACKENDS)}", moved]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Which databases the passed tests ran on, read from their ids (`…[postgresql-…]`), so the
    line is right also when pytest-xdist's workers ran them."""
    passed = [report.nodeid for report in terminalreporter.stats.get("passed", [])]
    used = {b for b in BACKENDS if any(re.search(rf"\[{b}[\]-]", n) for n in passed)}
    used |= _USED_BACKENDS
    shown = ", ".join(b for b in BACKENDS if b in used) or "none"
    terminalreporter.write_line(f"database backends run: {shown}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        backend = None
        if isinstance(item, pytest.Function) and hasattr(item, "callspec"):  # parametrized
            backend = item.callspec.params.get("database")
        if backend == "sqlite" and item.get_closest_marker("postgresql_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only"))
        if backend == "postgresql" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite only"))


GENEROUS_RATE_LIMITS = {
    "rate_limit_anonymous": 1_000_000,
    "rate_limit_member": 1_000_000,
    "rate_limit_app": 1_000_000,
    "rate_limit_unverified": 1_000_000,
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests: a cheap argon2 so the suite stays fast, no sign-up limit per address,
    no outbox dispatcher in the background; everything else as shipped."""
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "log_json": False,
        # the suite signs everyone up from one address; the sign-up throttle's own tests put
        # the shipped limit back
        "signup_address_free_attempts": 10_000,
        "attachments_dir": TEST_ATTACHMENTS,
        # no dispatcher in the background of a test's app: the outbox's tests start their own
        "outbox_dispatch_seconds": 0,
        # counted, but never refused: the suite sends thousands of requests from one address;
        # the rate limits' own tests put tight limits back
        **GENEROUS_RATE_LIMITS,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class Database:
    backend: str
    url: str
    engine: AsyncEngine


async def _create_pg_database(base_url: str, prefix: str) -> str:
    """A fresh, empty PostgreSQL database next to `base_url`; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def empty_database_url(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Callable[[str], Any]]:
    """A factory of fresh empty databases per backend, dropped at the end of the run."""
    created: list[str] = []

    async def make(backend: str) -> str:
        _USED_BACKENDS.add(backend)
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("db") / "tequio.db"
            return f"sqlite+aiosqlite:///{path}"
        assert POSTGRES_URL is not None
        url = await _create_pg_database(POSTGRES_URL, "tequio_test")
        created.append(url)
        return url

    yield make
    for url in created:
        await _drop_pg_database(POSTGRES_URL or "", url)


@pytest.fixture(scope="session", params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, empty_database_url: Callable[[str], Any]
) -> AsyncIterator[Database]:
    """The backend's database, migrated once with Alembic (not create_all)."""
    backend: str = request.param
    _USED_BACKENDS.add(backend)
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    async with engine.connect() as connection:
        await connection.run_sync(upgrade_on)
        await connection.commit()
    yield Database(backend, url, engine)
    await engine.dispose()


@pytest.fixture
async def sessionmaker(database: Database) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that share one outer transaction, rolled back after the test."""
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        yield async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        await transaction.rollback()


@pytest.fixture
def settings(database: Database) -> Settings:
    return make_settings(database.url)


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(TEST_ADDRESS, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://tequio.test")


@pytest.fixture
async def client(
    database: Database, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
    async with _client(app) as http:
        yield http


async def _empty_tables(engine: AsyncEngine) -> None:
    """Every table emptied, append-only ones too: on PostgreSQL one TRUNCATE (which fires no
    row trigger); on SQLite the triggers that refuse deletes are set aside meanwhile.

    The TRUNCATE is tried again when PostgreSQL picks it as a deadlock's victim: a stopped
    server's last transaction (a relay's heartbeat re-checking access, say) may still hold
    one table while waiting for another, and the TRUNCATE locks them all."""
    if engine.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        for attempt in range(5):
            try:
                async with engine.begin() as connection:
                    await connection.exec_driver_sql(f"TRUNCATE {names}")
                return
            except DBAPIError as exc:
                if "deadlock detected" not in str(exc) or attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
    async with engine.begin() as connection:
        refusing = (
            await connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                    " AND upper(sql) LIKE '%BEFORE DELETE%'"
                )
            )
        ).all()
        for name, _ in refusing:
            await connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
        for _, sql in refusing:
            await connection.exec_driver_sql(sql)


@pytest.fixture
async def live_client_with(database: Database) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients whose requests each commit for real, as in production, for concurrency tests;
    settings may be changed per client. The tables are emptied afterwards."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str = TEST_ADDRESS, **overrides: Any) -> httpx.AsyncClient:
        settings = make_settings(database.url, **overrides)
        app = create_app(
            settings, engine=database.engine, sessionmaker=create_sessionmaker(database.engine)
        )
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://tequio.test")
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        await _empty_tables(database.engine)


@pytest.fixture
def live_client(live_client_with: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return live_client_with()


@pytest.fixture
async def bylaws_installed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The shipped default bylaws as version 1; use with `pytest.mark.usefixtures`."""
    from tests.factories import install_bylaws

    await install_bylaws(sessionmaker)


@pytest.fixture
async def admin(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, Any]:
    """Tokens of a signed-in admin."""
    from tests.factories import admin_tokens

    return await admin_tokens(client, sessionmaker, settings)


@pytest.fixture
async def treasurer(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, Any]:
    """Tokens of a signed-in treasurer."""
    from tests.factories import treasurer_tokens

    return await treasurer_tokens(client, sessionmaker, settings)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def travel() -> Iterator[Callable[[datetime], None]]:
    """Move the clock for the rest of the test (`travel(closes + timedelta(seconds=1))`) instead
    of sleeping until then: a test must not depend on how fast a loaded machine is."""
    with contextlib.ExitStack() as stack:
        yield lambda to: stack.enter_context(clock.travel(to))
