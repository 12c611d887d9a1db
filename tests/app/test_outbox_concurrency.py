"""Several dispatchers at once on PostgreSQL never send one message twice: each takes what the
others have not locked (`FOR UPDATE SKIP LOCKED`) and none waits for another. On committed
data, with real concurrent sessions; the tables are emptied afterwards."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db import create_sessionmaker
from app.main import password_hasher
from app.outbox import Dispatcher
from cooperative.accounts import service as accounts_service
from cooperative.accounts.schemas import AccountCreate
from cooperative.kernel import clock, moments
from cooperative.notifications import delivery
from cooperative.notifications import service as outbox
from cooperative.notifications.models import OutboxMessage
from cooperative.notifications.providers import Accepted, DevelopmentProvider, Outgoing
from tests.conftest import Database, _empty_tables, make_settings
from tests.factories import PASSWORD, unique_email

pytestmark = pytest.mark.postgresql_only

MESSAGES = 60


class SlowInbox(DevelopmentProvider):
    """The development inbox, taking a moment per message as a real provider does, so that
    the dispatchers' batches overlap in time."""

    async def send(self, message: Outgoing) -> Accepted:
        await asyncio.sleep(0.002)
        return await super().send(message)


@pytest.fixture
async def committed(database: Database) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    sessions = create_sessionmaker(database.engine)
    try:
        yield sessions
    finally:
        await _empty_tables(database.engine)


async def _queue_many(sessions: async_sessionmaker[AsyncSession], database: Database) -> None:
    settings = make_settings(database.url)
    start = clock.now() + timedelta(days=2)
    async with sessions() as session:
        account = await accounts_service.register(
            session,
            AccountCreate.model_validate(
                {"email": unique_email(), "password": PASSWORD, "display_name": "Rosa"}
            ),
            hasher=password_hasher(settings),
            min_password_length=settings.password_min_length,
        )
        for number in range(MESSAGES):
            await outbox.enqueue(
                session,
                recipient=account.id,
                template="consult.reminder",
                parameters={"appointment_id": str(uuid.uuid4()), "start": moments.stored(start)},
                idempotency_key=f"race:{number}",
                not_before=clock.now() - timedelta(seconds=number),
            )
        await session.commit()


async def test_two_dispatchers_at_once_send_every_message_exactly_once(
    database: Database, committed: async_sessionmaker[AsyncSession]
) -> None:
    await _queue_many(committed, database)
    first, second = SlowInbox(), SlowInbox()
    dispatchers = [
        Dispatcher(committed, [inbox], base_url="https://tequio.test", batch=7)
        for inbox in (first, second)
    ]

    await asyncio.gather(*(d.drain() for d in dispatchers), *(d.drain() for d in dispatchers))

    sent = [m.message_id for m in [*first.inbox, *second.inbox]]
    assert len(sent) == MESSAGES
    assert len(set(sent)) == MESSAGES
    async with committed() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}


async def test_a_dispatcher_skips_what_another_holds_instead_of_waiting_or_taking_it(
    database: Database, committed: async_sessionmaker[AsyncSession]
) -> None:
    await _queue_many(committed, database)
    now, lease = clock.now(), timedelta(minutes=5)
    async with committed() as one, committed() as other:
        held = await delivery.claim(one, channels=["email"], now=now, lease=lease, limit=10)
        # the first has not committed: its rows are locked, and the second does not wait
        taken = await asyncio.wait_for(
            delivery.claim(other, channels=["email"], now=now, lease=lease, limit=10), timeout=10
        )
        assert len(held) == len(taken) == 10
        assert not {m.id for m in held} & {m.id for m in taken}
        await one.commit()
        await other.commit()
    async with committed() as session:
        sending = await session.execute(
            select(col(OutboxMessage.id)).where(col(OutboxMessage.state) == "sending")
        )
    assert len(sending.all()) == 20
