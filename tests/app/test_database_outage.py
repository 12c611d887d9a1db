"""Losing the database, in process: a request that cannot reach it answers 503
`database-unavailable` with Retry-After, logs one line and no traceback, and the worker warns at
most every few seconds. A real bug is still a 500 with its traceback. (With a real PostgreSQL
cluster stopped under a running server: test_database_outage_live.py.)"""

import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg.exceptions as pg
import httpx
import pytest
from sqlalchemy import exc as sa

from app.db import create_engine
from app.logs import JSONFormatter
from app.main import create_app
from app.middleware import CLOSE_TRY_AGAIN_LATER, UnexpectedErrorMiddleware
from app.outage import OutageLog, database_unreachable
from tests.conftest import make_settings

REFUSED = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # nothing listens on port 1
SIGN_IN = {"username": "rosa@example.org", "password": "maiz azul de oaxaca"}


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the root logger writes as JSON lines, formatted as they are written (the request id
    is read then), as `tequio serve` writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [e for e in entries if not e["logger"].startswith(("httpx", "httpcore"))]


@pytest.fixture(params=["postgresql", "sqlite"])
async def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An app whose database cannot be reached: PostgreSQL on a port nobody listens on, or an
    SQLite file in a folder that does not exist. Neither needs a database server."""
    url = REFUSED if request.param == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/no/t.db"
    app = create_app(make_settings(url))
    try:
        yield app
    finally:
        await app.state.engine.dispose()


async def test_a_request_that_cannot_reach_the_database_gets_503_to_retry(
    unreachable: Any, json_lines: io.StringIO
) -> None:
    transport = httpx.ASGITransport(app=unreachable)
    async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as client:
        answers = [
            await client.post("/v1/auth/token", json=SIGN_IN, headers={"Accept-Language": lang})
            for lang in ("en", "es", "es", "en")
        ]

    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "2"
        assert "close" not in answer.headers.get("connection", "")
        problem = answer.json()
        assert problem["type"] == "https://tequio.coop/problems/database-unavailable"
        assert problem["request_id"] == answer.headers["x-request-id"]
    assert answers[0].json()["title"] == "Database unavailable"
    assert "Idempotency-Key" in answers[0].json()["detail"]
    assert answers[1].json()["title"] == "Base de datos no disponible"
    assert answers[1].headers["content-language"] == "es"

    entries = _entries(json_lines)
    assert not [e for e in entries if "exception" in e], "no traceback for a database away"
    for answer in answers:  # one access line each, with its request id
        mine = [e for e in entries if e.get("request_id") == answer.headers["x-request-id"]]
        access = [e for e in mine if e["logger"] == "tequio.access"]
        assert [e["status"] for e in access] == [503]
        assert len(mine) <= 2  # and, for one of them, the worker's warning
    warnings = [e for e in entries if e["level"] == "warning"]
    assert len(warnings) == 1  # four failures in a moment: one warning
    assert warnings[0]["logger"] == "tequio.db"
    assert warnings[0]["message"].startswith("database unreachable")
    assert warnings[0]["request_id"] == answers[0].headers["x-request-id"]
    assert "127.0.0.1" not in warnings[0]["cause"]


async def test_readiness_says_not_ready_with_retry_after_and_counts_in_the_warning(
    unreachable: Any, json_lines: io.StringIO
) -> None:
    transport = httpx.ASGITransport(app=unreachable)
    async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as client:
        ready = await client.get("/healthz/ready")
        live = await client.get("/healthz/live")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["type"].endswith("/not-ready")
    assert ready.headers["retry-after"] == "2"
    entries = _entries(json_lines)
    assert not [e for e in entries if "exception" in e]
    assert [e["where"] for e in entries if e["level"] == "warning"] == ["readiness probe"]


async def test_a_bug_is_still_a_500_with_its_traceback_and_request_id(
    json_lines: io.StringIO, tmp_path: Path
) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db"))

    async def broken() -> None:
        raise ConnectionRefusedError("not the database: a bug that looks like it")

    app.add_api_route("/broken", broken)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as client:
        answer = await client.get("/broken")
    await app.state.engine.dispose()

    assert answer.status_code == 500
    assert answer.json()["type"].endswith("/internal-error")
    request_id = answer.headers["x-request-id"]
    assert answer.json()["request_id"] == request_id
    errors = [e for e in _entries(json_lines) if e["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == request_id
    assert "Traceback" in errors[0]["exception"]
    assert "a bug that looks like it" in errors[0]["exception"]


async def test_sqlite_busy_past_its_timeout_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    """'database is locked' (a writer waited past the busy timeout) is not the database gone."""
    engine = create_engine(
        make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", sqlite_busy_timeout_ms=0)
    )
    try:
        async with engine.connect() as holder, engine.connect() as waiter:
            await holder.begin()  # BEGIN IMMEDIATE: holds the write lock
            with pytest.raises(sa.OperationalError) as locked:
                await waiter.begin()
            assert "database is locked" in str(locked.value)
            assert not database_unreachable(locked.value)
            await holder.rollback()
    finally:
        await engine.dispose()


def test_which_errors_mean_the_database_is_gone() -> None:
    def wrapped(error: Exception, *, invalidated: bool = False) -> sa.DBAPIError:
        return sa.DBAPIError("SELECT 1", None, error, connection_invalidated=invalidated)

    assert database_unreachable(wrapped(pg.CannotConnectNowError("starting up")))
    assert database_unreachable(wrapped(pg.ConnectionDoesNotExistError("closed")))
    assert database_unreachable(wrapped(pg.AdminShutdownError("terminating connection")))
    assert database_unreachable(wrapped(RuntimeError("state 15"), invalidated=True))
    assert database_unreachable(sa.TimeoutError("QueuePool limit reached"))
    assert database_unreachable(wrapped(sqlite3.OperationalError("unable to open database file")))
    assert not database_unreachable(wrapped(sqlite3.OperationalError("database is locked")))
    assert not database_unreachable(wrapped(pg.UniqueViolationError("duplicate key")))
    assert not database_unreachable(sa.IntegrityError("INSERT", None, Exception("unique")))
    # a socket or file error of our own, not raised through the driver: a bug
    assert not database_unreachable(ConnectionRefusedError("an HTTP call of ours"))
    assert not database_unreachable(FileNotFoundError("a receipt's photo"))
    assert not database_unreachable(ValueError("nothing to do with it"))


def test_the_warning_comes_at_most_every_ten_seconds_and_counts_what_it_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    outage = OutageLog(every=10, clock=lambda: now[0])
    error = ConnectionRefusedError("Connect call failed ('10.0.0.5', 5432)")
    caplog.set_level(logging.INFO, logger="tequio.db")
    outage.connected()  # nothing was down: nothing to say
    for second in range(25):
        now[0] = float(second)
        outage.failed(error)
        outage.failed(error)
    now[0] = 31.5
    outage.connected()
    outage.connected()

    lines = [(r.getMessage(), r.__dict__) for r in caplog.records]
    assert [message.split(":")[0] for message, _ in lines] == [
        "database unreachable",
        "database unreachable",
        "database unreachable",
        "database reachable again",
    ]
    assert [fields["failures"] for _, fields in lines] == [1, 20, 20, 50]
    assert [fields.get("down_seconds") for _, fields in lines] == [0.0, 10.0, 20.0, 31.5]
    assert "10.0.0.5" not in lines[0][1]["cause"]


async def test_a_socket_that_finds_the_database_gone_is_told_to_try_again_later() -> None:
    outage = OutageLog()

    class App:
        state = type("State", (), {"outage": outage})()

    async def socket_route(scope: Any, receive: Any, send: Any) -> None:
        raise sa.DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True)

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def never(request: Any, exc: Exception) -> None:
        raise AssertionError("a socket is closed, not answered")

    middleware = UnexpectedErrorMiddleware(socket_route, render=never)
    await middleware({"type": "websocket", "app": App(), "path": "/"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER}]
    assert outage.failures_in_outage == 1
