"""What delivering the outbox costs on PostgreSQL: messages dispatched per second by one and by
two dispatchers at once (each with its own connection pool, as `tequio worker` processes have),
beside the cost of writing the same number of rows as bare inserts.

The provider accepts at once (no network), so the figures are the outbox's own cost: the claim
(`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`), the render, and one transaction per
message to record it. A scratch database on the shared server, dropped afterwards. Nothing
here asserts a time.
"""

import asyncio
import tempfile
import time
import uuid
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine, create_sessionmaker
from app.main import password_hasher
from app.outbox import Dispatcher
from bench.live_server import answers, scratch_database
from cooperative.accounts import service as accounts_service
from cooperative.accounts.schemas import AccountCreate
from cooperative.kernel import clock, moments
from cooperative.notifications.models import OutboxMessage
from cooperative.notifications.providers import Accepted, Outgoing

MESSAGES = 3_000
BATCH = 50


class Accepting:
    """A provider that takes every message at once."""

    name = "bench"
    channels: frozenset[str] = frozenset({"email", "sms", "whatsapp", "console"})

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, message: Outgoing) -> Accepted:
        self.sent += 1
        return Accepted(provider_message_id=str(message.message_id))


def _rows(recipient: uuid.UUID, count: int, tag: str, state: str) -> list[dict[str, object]]:
    now = clock.now()
    start = moments.stored(now + timedelta(days=1))
    return [
        {
            "id": uuid.uuid4(),
            "recipient_account_id": recipient,
            "channel": "email",
            "template": "consult.reminder",
            "language": "es",
            "parameters": {"appointment_id": str(uuid.uuid4()), "start": start},
            "idempotency_key": f"bench:{tag}:{n}",
            "state": state,
            "not_before": now,
            "next_attempt_at": now,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]


async def _insert(
    engine: AsyncEngine, recipient: uuid.UUID, tag: str, state: str = "queued"
) -> float:
    """Seconds to write MESSAGES rows, BATCH per transaction."""
    rows = _rows(recipient, MESSAGES, tag, state)
    began = time.perf_counter()
    for at in range(0, MESSAGES, BATCH):
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxMessage), rows[at : at + BATCH])
    return time.perf_counter() - began


async def _dispatch(engines: list[AsyncEngine]) -> float:
    dispatchers = [
        Dispatcher(create_sessionmaker(engine), [Accepting()], base_url="https://b", batch=BATCH)
        for engine in engines
    ]
    began = time.perf_counter()
    await asyncio.gather(*(d.drain() for d in dispatchers))
    return time.perf_counter() - began


async def _run() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with scratch_database(folder) as scratch:
            settings = scratch.settings()
            engines = [create_engine(settings), create_engine(settings)]
            try:
                async with create_sessionmaker(engines[0])() as session:
                    account = await accounts_service.register(
                        session,
                        AccountCreate(
                            email="bench@example.org",
                            password="maiz azul de oaxaca",
                            display_name="Bench",
                        ),
                        hasher=password_hasher(settings),
                        min_password_length=settings.password_min_length,
                    )
                    await session.commit()
                inserted = await _insert(engines[0], account.id, "bare", "cancelled")
                print(
                    f"  bare inserts:      {MESSAGES:,} rows in {inserted:.2f} s "
                    f"({MESSAGES / inserted:,.0f} rows/s, {BATCH} a transaction)"
                )
                for workers in (1, 2):
                    await _insert(engines[0], account.id, f"w{workers}")
                    took = await _dispatch(engines[:workers])
                    print(
                        f"  {workers} dispatcher{'s' if workers > 1 else ' '}:     "
                        f"{MESSAGES:,} messages in {took:.2f} s ({MESSAGES / took:,.0f} messages/s)"
                    )
                async with engines[0].connect() as connection:
                    sent = await connection.scalar(
                        select(func.count()).where(OutboxMessage.state == "sent")  # type: ignore[arg-type]
                    )
                print(f"  sent once each:    {sent:,} of {2 * MESSAGES:,}")
            finally:
                for engine in engines:
                    await engine.dispose()


def run() -> None:
    if not answers(5432):
        print("  skipped: no PostgreSQL on 127.0.0.1:5432")
        return
    asyncio.run(_run())


if __name__ == "__main__":
    run()
