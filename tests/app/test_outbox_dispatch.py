"""The dispatcher delivers what is due through a real SMTP server on loopback (aiosmtpd): sent
once the server accepts it; a server that refuses an address for good makes the message dead
at once; a server that is down makes it wait, longer each time, and dead after the last
attempt, kept with the reason; a message rolled back with its change is never sent."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.outbox import Dispatcher
from cooperative.kernel import clock, moments
from cooperative.notifications import delivery
from cooperative.notifications import service as outbox
from cooperative.notifications.errors import UnknownParameters
from cooperative.notifications.providers import SmtpConfig, SmtpProvider
from cooperative.notifications.rules import RetryPolicy
from tests.factories import bearer, login, signed_up

BASE = "https://tequio.test"
POLICY = RetryPolicy(max_attempts=3, base=timedelta(minutes=1), cap=timedelta(minutes=10))


class Mailbox:
    """What the SMTP server on loopback received; addresses at refused.example are refused
    for good (550)."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd calls it by this name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd calls it by this name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
async def smtp(port: int) -> AsyncIterator[Callable[[], Mailbox]]:
    """Start the SMTP server on loopback when the test says so (it may begin 'down')."""
    controllers: list[Controller] = []

    def start() -> Mailbox:
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return mailbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def dispatcher(sessionmaker: async_sessionmaker[AsyncSession], port: int) -> Dispatcher:
    config = SmtpConfig(
        host="127.0.0.1",
        port=port,
        sender="Tequio <avisos@tequio.test>",
        security="none",
        timeout_seconds=5,
    )
    return Dispatcher(sessionmaker, [SmtpProvider(config)], base_url=BASE, policy=POLICY)


async def _queue(
    sessionmaker: async_sessionmaker[AsyncSession], account: dict[str, Any], *, commit: bool = True
) -> None:
    start = clock.now() + timedelta(days=2)
    async with sessionmaker() as session:
        queued = await outbox.enqueue(
            session,
            recipient=uuid.UUID(account["id"]),
            template="consult.reminder",
            parameters={
                "appointment_id": str(uuid.uuid4()),
                "start": moments.stored(start),
                "zone": "America/Mexico_City",
            },
            idempotency_key=f"test:{uuid.uuid4()}",
            not_before=clock.now(),
            expires_at=start,
        )
        assert queued is not None
        if commit:
            await session.commit()
        else:
            await session.rollback()


async def _states(client: httpx.AsyncClient, tokens: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    # the code that verified the account at sign-up is not what these tests are about
    return [item for item in items if not item["template"].startswith("code.")]


async def test_an_email_is_sent_when_the_smtp_server_accepts_it(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    smtp: Callable[[], Mailbox],
) -> None:
    mailbox = await asyncio.to_thread(smtp)
    account, rosa = await signed_up(client)
    await _queue(sessionmaker, account)

    assert await dispatcher.drain() == 1
    [envelope] = mailbox.received
    assert envelope.rcpt_tos == [account["email"]]
    text = envelope.original_content.decode() if envelope.original_content else ""
    assert "Subject: Su consulta de Tequio" in text
    assert "Tiene una consulta de Tequio el" in text
    [message] = await _states(client, rosa)
    assert (message["state"], message["attempts"], message["reason"]) == ("sent", 1, None)
    assert message["delivered_at"] is None  # SMTP has no receipt: sent is all it can say
    assert await dispatcher.drain() == 0  # and it is never sent again
    assert len(mailbox.received) == 1


async def test_an_address_refused_for_good_is_dead_at_once_with_the_reason(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    smtp: Callable[[], Mailbox],
) -> None:
    mailbox = await asyncio.to_thread(smtp)
    account, tokens = await signed_up(client, email="nadie@refused.example")
    await _queue(sessionmaker, account)

    assert await dispatcher.drain() == 1
    [message] = await _states(client, tokens)
    assert message["state"] == "dead" and "550" in message["reason"]
    assert mailbox.received == []


async def test_an_outage_is_retried_with_backoff_then_dead_and_kept(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    travel: Callable[[datetime], None],
) -> None:
    """No SMTP server listens: three attempts, one, then two minutes apart, then dead."""
    account, tokens = await signed_up(client)
    await _queue(sessionmaker, account)
    now = clock.now()

    assert await dispatcher.drain() == 1
    [message] = await _states(client, tokens)
    assert (message["state"], message["attempts"]) == ("failed", 1)
    assert "no SMTP server reached" in message["reason"]
    travel(now + timedelta(seconds=50))
    assert await dispatcher.drain() == 0  # not before its backoff
    travel(now + timedelta(seconds=61))
    assert await dispatcher.drain() == 1
    travel(now + timedelta(seconds=61 + 119))
    assert await dispatcher.drain() == 0
    travel(now + timedelta(seconds=61 + 121))
    assert await dispatcher.drain() == 1
    tokens = await login(client, account["email"])
    [message] = await _states(client, tokens)
    assert (message["state"], message["attempts"]) == ("dead", 3)
    assert "no SMTP server reached" in message["reason"]
    travel(now + timedelta(hours=1))
    assert await dispatcher.drain() == 0


async def test_a_message_waits_out_an_outage_and_goes_when_the_server_is_back(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    smtp: Callable[[], Mailbox],
    travel: Callable[[datetime], None],
) -> None:
    account, tokens = await signed_up(client)
    await _queue(sessionmaker, account)
    assert await dispatcher.drain() == 1  # down
    mailbox = await asyncio.to_thread(smtp)
    travel(clock.now() + timedelta(minutes=2))
    assert await dispatcher.drain() == 1
    assert len(mailbox.received) == 1
    [message] = await _states(client, tokens)
    assert (message["state"], message["attempts"]) == ("sent", 2)


async def test_a_message_rolled_back_with_its_change_is_never_sent(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    smtp: Callable[[], Mailbox],
) -> None:
    mailbox = await asyncio.to_thread(smtp)
    account, tokens = await signed_up(client)
    await _queue(sessionmaker, account, commit=False)
    assert await dispatcher.drain() == 0
    assert await _states(client, tokens) == []
    assert mailbox.received == []


async def test_a_message_whose_moment_passed_unsent_is_dead_not_sent_late(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    travel: Callable[[datetime], None],
) -> None:
    account, tokens = await signed_up(client)
    await _queue(sessionmaker, account)
    travel(clock.now() + timedelta(days=3))  # the consult it announced is over
    assert await dispatcher.drain() == 0
    tokens = await login(client, account["email"])
    [message] = await _states(client, tokens)
    assert message["state"] == "dead" and "passed" in message["reason"]


async def test_a_writer_cannot_put_what_a_template_has_no_place_for_in_a_message(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account, _ = await signed_up(client)
    async with sessionmaker() as session:
        with pytest.raises(UnknownParameters):
            await outbox.enqueue(
                session,
                recipient=uuid.UUID(account["id"]),
                template="consult.reminder",
                parameters={"appointment_id": "x", "start": "x", "reason": "dolor de cabeza"},
                idempotency_key="test:reason",
                not_before=clock.now(),
            )


async def test_a_dispatcher_that_died_mid_send_leaves_the_message_to_the_next_after_its_lease(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    smtp: Callable[[], Mailbox],
    travel: Callable[[datetime], None],
) -> None:
    mailbox = await asyncio.to_thread(smtp)
    account, _ = await signed_up(client)
    await _queue(sessionmaker, account)
    async with sessionmaker() as session:  # taken, then the process is gone
        [taken] = await delivery.claim(
            session, channels=["email"], now=clock.now(), lease=timedelta(minutes=5), limit=5
        )
        await session.commit()
    assert await dispatcher.drain() == 0  # another dispatcher leaves it to its holder

    travel(clock.now() + timedelta(minutes=6))
    assert await dispatcher.drain() == 1
    assert len(mailbox.received) == 1
    tokens = await login(client, account["email"])
    [message] = await _states(client, tokens)
    assert (message["id"], message["state"], message["attempts"]) == (str(taken.id), "sent", 2)
    # the holder that outlived its lease records nothing over the message's new story
    assert taken.claim_token is not None
    async with sessionmaker() as session:
        assert not await delivery.record_sent(
            session,
            taken.id,
            taken.claim_token,
            provider="smtp",
            provider_message_id="late",
            now=clock.now(),
        )
