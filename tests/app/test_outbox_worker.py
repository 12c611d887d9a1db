"""The outbox's dispatcher outside the tests' own loop: `tequio worker --once` delivers what is
due through the SMTP server it is configured with, and `tequio serve`'s lifespan runs one in the
background unless it is turned off."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlmodel import col

from app.db import create_engine, create_sessionmaker
from app.main import create_app
from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock, moments
from cooperative.notifications import service as outbox
from cooperative.notifications.models import OutboxMessage
from tests.app.test_outbox_dispatch import Mailbox, _free_port
from tests.conftest import TEST_ADDRESS, Database, _empty_tables, make_settings
from tests.factories import sign_up

TEQUIO = str(Path(sys.executable).parent / "tequio")
ADMIN = "operadora@example.org"


def _run(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> str:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEQUIO_")},
        "TEQUIO_CLOCK_OFFSET_SECONDS": os.environ.get("TEQUIO_CLOCK_OFFSET_SECONDS", "0"),
        "TEQUIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "TEQUIO_ARGON2_MEMORY_KIB": "1024",
        "TEQUIO_ARGON2_TIME_COST": "1",
        "TEQUIO_LOG_JSON": "false",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        **env,
    }
    done = subprocess.run(
        [TEQUIO, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _queue(url: str) -> uuid.UUID:
    engine = create_engine(make_settings(url))
    try:
        async with create_sessionmaker(engine)() as session:
            account = await accounts_service.find_by_identifier(session, ADMIN)
            assert account is not None
            message = await outbox.enqueue(
                session,
                recipient=account.id,
                template="consult.reminder",
                parameters={
                    "appointment_id": str(uuid.uuid4()),
                    "start": moments.stored(clock.now() + timedelta(days=1)),
                },
                idempotency_key=f"worker:{uuid.uuid4()}",
                not_before=clock.now(),
            )
            assert message is not None
            await session.commit()
            return message.id
    finally:
        await engine.dispose()


async def _state(url: str, message_id: uuid.UUID) -> str:
    engine = create_engine(make_settings(url))
    try:
        async with create_sessionmaker(engine)() as session:
            found = await session.execute(
                select(col(OutboxMessage.state)).where(col(OutboxMessage.id) == message_id)
            )
            return str(found.scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_tequio_worker_once_sends_what_is_due_by_smtp(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    await asyncio.to_thread(_run, tmp_path, "migrate")
    await asyncio.to_thread(
        _run, tmp_path, "create-admin", "--email", ADMIN, "--password-stdin", stdin="maíz azul 2026"
    )
    message_id = await _queue(url)
    port = _free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        out = await asyncio.to_thread(
            _run,
            tmp_path,
            "worker",
            "--once",
            TEQUIO_SMTP_HOST="127.0.0.1",
            TEQUIO_SMTP_PORT=str(port),
            TEQUIO_SMTP_SECURITY="none",
        )
    finally:
        await asyncio.to_thread(controller.stop)
    assert "1 messages handled" in out
    [envelope] = mailbox.received
    assert envelope.rcpt_tos == [ADMIN]
    assert await _state(url, message_id) == "sent"


async def test_the_servers_lifespan_dispatches_in_the_background(database: Database) -> None:
    sessions = create_sessionmaker(database.engine)
    app = create_app(
        make_settings(database.url, outbox_dispatch_seconds=0.05),
        engine=database.engine,
        sessionmaker=sessions,
    )
    transport = httpx.ASGITransport(app=app, client=(TEST_ADDRESS, 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as http:
            await sign_up(http, email=ADMIN)
        message_id = await _queue(database.url)
        async with app.router.lifespan_context(app):
            for _ in range(200):  # the development provider takes it within a pass or two
                if await _state(database.url, message_id) == "sent":
                    break
                await asyncio.sleep(0.05)
        assert await _state(database.url, message_id) == "sent"
    finally:
        await _empty_tables(database.engine)
