"""SMS and WhatsApp through the Twilio-style provider, with real servers on loopback: Tequio
(uvicorn, the status callback's receiver) and a fake provider that answers like the real API and
calls the callback signed (`tests/fake_sms_provider.py`). A message is `sent` when the provider
accepts it and `delivered` only on its signed receipt; a WhatsApp message that is not delivered
goes by SMS instead, and the member sees both and why; an outage is retried, then dead and kept;
a refusal is dead at once with the provider's words; a forged receipt changes nothing.

The provider's side does not depend on the database: only the fallback, which a receipt writes
under a row lock, runs on PostgreSQL too; the others on SQLite, to keep the suite quick."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from app.db import create_sessionmaker
from app.main import create_app
from app.outbox import Dispatcher
from app.settings import Settings
from cooperative.kernel import clock, moments
from cooperative.notifications import service as outbox
from cooperative.notifications.rules import Channel
from tests import fake_sms_provider
from tests.conftest import Database, _empty_tables, make_settings
from tests.factories import OUTBOXES, bearer, signed_up

SMS_FROM = "+525500000001"
WHATSAPP_FROM = "+525500000002"
RECEIPTS = "/v1/notifications/receipts/twilio"


@dataclass
class Live:
    http: httpx.AsyncClient  # to Tequio over a real socket
    settings: Settings
    dispatcher: Dispatcher
    provider: fake_sms_provider.FakeSmsProvider
    database: Database

    @property
    def callback(self) -> str:
        return self.settings.twilio_status_callback


@pytest.fixture
async def live(database: Database) -> AsyncIterator[Live]:
    provider = fake_sms_provider.FakeSmsProvider()
    fake, fake_task = await fake_sms_provider.start(provider)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(
        database.url,
        public_base_url=base,
        twilio_api_base=provider.url,
        twilio_account_sid=fake_sms_provider.ACCOUNT_SID,
        twilio_auth_token=fake_sms_provider.AUTH_TOKEN,
        twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_timeout_seconds=5,
        outbox_max_attempts=3,
        outbox_retry_base_seconds=60,
        outbox_retry_cap_seconds=600,
        governance_sweep_seconds=0,  # no background writer beside the test's own
        slot_sweep_seconds=0,
    )
    sessions = create_sessionmaker(database.engine)
    OUTBOXES[base.removeprefix("http://")] = sessions  # where the factories read a sign-up's code
    app = create_app(settings, engine=database.engine, sessionmaker=sessions)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(3000):  # up to a minute on a loaded machine
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "Tequio did not start"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Live(
                http, settings, Dispatcher.from_settings(settings, sessions), provider, database
            )
    finally:
        server.should_exit = True
        await task
        await fake_sms_provider.stop(fake, fake_task)
        await _empty_tables(database.engine)


async def _queue(
    live: Live, account: dict[str, Any], channel: Channel, *, about: str | None = None
) -> str:
    """A consult reminder due now on `channel`; its `about`."""
    about = about or f"appointment:{uuid.uuid4()}"
    start = clock.now() + timedelta(days=2)
    async with create_sessionmaker(live.database.engine)() as session:
        queued = await outbox.enqueue(
            session,
            recipient=uuid.UUID(account["id"]),
            template="consult.reminder",
            parameters={"appointment_id": str(uuid.uuid4()), "start": moments.stored(start)},
            idempotency_key=f"test:{uuid.uuid4()}",
            not_before=clock.now(),
            expires_at=start,
            about=about,
            channel=channel,
        )
        assert queued is not None
        await session.commit()
    return about


async def _messages(live: Live, tokens: dict[str, Any]) -> list[dict[str, Any]]:
    response = await live.http.get("/v1/me/notifications", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    # the code that verified the account at sign-up is not what these tests are about
    return [item for item in items if not item["template"].startswith("code.")]


async def _member(live: Live, phone: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A member signed up and verified with `phone`; her sign-up code's SMS already sent and
    reported, so the provider holds only what the test sends next."""
    account, tokens = await signed_up(live.http, phone=phone)
    await live.dispatcher.drain()
    await live.provider.report()
    live.provider.received.clear()
    return account, tokens


def _phone() -> str:
    return f"+52951{uuid.uuid4().int % 10**7:07d}"


@pytest.mark.sqlite_only
async def test_an_sms_reminder_is_sent_then_delivered_only_on_the_signed_receipt(
    live: Live,
) -> None:
    phone = _phone()
    account, tokens = await _member(live, phone)
    await _queue(live, account, Channel.SMS)

    assert await live.dispatcher.drain() == 1
    [received] = live.provider.received
    assert received.form["To"] == phone and received.form["From"] == SMS_FROM
    assert received.form["Body"].startswith("Tiene una consulta de Tequio el ")
    assert received.form["StatusCallback"] == f"{live.settings.public_url}{RECEIPTS}"
    [message] = await _messages(live, tokens)
    assert (message["state"], message["delivered_at"]) == ("sent", None)

    assert await live.provider.report() == [204, 204]  # "sent", then "delivered"
    [message] = await _messages(live, tokens)
    assert message["state"] == "delivered" and message["delivered_at"] is not None
    assert message["reason"] is None and message["fallback_of"] is None


async def test_a_whatsapp_message_not_delivered_goes_by_sms_and_she_sees_why(
    live: Live,
) -> None:
    """Her number is not on WhatsApp: the provider accepts the message, then reports it
    undelivered; an SMS with the same text goes instead, once, and is delivered."""
    phone = _phone()
    live.provider.not_on_whatsapp.add(phone)
    account, tokens = await _member(live, phone)
    await _queue(live, account, Channel.WHATSAPP)

    assert await live.dispatcher.drain() == 1
    [whatsapp] = live.provider.received
    assert (whatsapp.form["To"], whatsapp.form["From"]) == (
        f"whatsapp:{phone}",
        f"whatsapp:{WHATSAPP_FROM}",
    )
    assert await live.provider.report() == [204, 204]  # "sent", then "undelivered"

    assert await live.dispatcher.drain() == 1  # the SMS, due at once
    sms = live.provider.received[1]
    assert (sms.form["To"], sms.form["Body"]) == (phone, whatsapp.form["Body"])
    assert await live.provider.report() == [204, 204]
    fallback, original = await _messages(live, tokens)
    assert (original["channel"], original["state"]) == ("whatsapp", "dead")
    assert "63024" in original["reason"] and "Invalid message recipient" in original["reason"]
    assert original["reason"].endswith("; sent by SMS instead")
    assert (fallback["channel"], fallback["state"]) == ("sms", "delivered")
    assert fallback["fallback_of"] == original["id"]

    # the provider calls again (it retries callbacks): no second SMS
    repeat = {"MessageSid": whatsapp.sid, "MessageStatus": "undelivered", "ErrorCode": "63024"}
    signature = fake_sms_provider.sign(live.callback, repeat)
    again = await live.http.post(RECEIPTS, data=repeat, headers={"X-Twilio-Signature": signature})
    assert again.status_code == 204
    assert await live.dispatcher.drain() == 0
    assert len(await _messages(live, tokens)) == 2


@pytest.mark.sqlite_only
async def test_an_outage_is_retried_with_backoff_then_dead_and_kept(
    live: Live, travel: Callable[[datetime], None]
) -> None:
    live.provider.down = True
    account, tokens = await _member(live, _phone())
    await _queue(live, account, Channel.SMS)
    before = clock.now()

    assert await live.dispatcher.drain() == 1
    failed = clock.now()  # the failure was recorded in between: the retry is due 60 s after
    [message] = await _messages(live, tokens)
    assert (message["state"], message["attempts"]) == ("failed", 1)
    assert message["reason"].startswith("the provider is failing (503")
    travel(before + timedelta(seconds=45))
    assert await live.dispatcher.drain() == 0  # not before its backoff
    travel(failed + timedelta(seconds=61))
    assert await live.dispatcher.drain() == 1
    travel(clock.now() + timedelta(seconds=121))  # then two minutes
    assert await live.dispatcher.drain() == 1
    [message] = await _messages(live, tokens)
    assert (message["state"], message["attempts"]) == ("dead", 3)
    assert "503" in message["reason"] and message["delivered_at"] is None
    assert live.provider.received == []


@pytest.mark.sqlite_only
async def test_a_refused_number_is_dead_at_once_with_the_providers_words(live: Live) -> None:
    """Refused on WhatsApp: dead at once, and an SMS instead; refused by SMS too: dead, and
    nothing further."""
    phone = _phone()
    live.provider.invalid.add(phone)
    account, tokens = await _member(live, phone)
    await _queue(live, account, Channel.WHATSAPP)

    assert await live.dispatcher.drain() == 1
    assert await live.dispatcher.drain() == 1  # the SMS queued by the refusal
    assert await live.dispatcher.drain() == 0
    sms, whatsapp = await _messages(live, tokens)
    for message in (sms, whatsapp):
        assert (message["state"], message["attempts"]) == ("dead", 1)
        assert "(21211): The 'To' number" in message["reason"]
        assert "is not a valid phone number" in message["reason"]
    assert whatsapp["reason"].endswith("; sent by SMS instead")
    assert sms["fallback_of"] == whatsapp["id"] and not sms["reason"].endswith("instead")
    assert live.provider.received == []


@pytest.mark.sqlite_only
async def test_a_forged_or_unsigned_receipt_is_refused_and_changes_nothing(live: Live) -> None:
    account, tokens = await _member(live, _phone())
    await _queue(live, account, Channel.SMS)
    assert await live.dispatcher.drain() == 1
    [received] = live.provider.received
    fields = {"MessageSid": received.sid, "MessageStatus": "delivered"}

    unsigned = await live.http.post(RECEIPTS, data=fields)
    forged = await live.http.post(
        RECEIPTS,
        data=fields,
        headers={"X-Twilio-Signature": fake_sms_provider.sign(live.callback, fields, "guessed")},
    )
    other_url = await live.http.post(  # signed, but for another address
        RECEIPTS,
        data=fields,
        headers={"X-Twilio-Signature": fake_sms_provider.sign("https://evil.example/r", fields)},
    )
    for refused in (unsigned, forged, other_url):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("/receipt-not-signed")
    [message] = await _messages(live, tokens)
    assert message["state"] == "sent"

    unknown = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    ignored = await live.http.post(
        RECEIPTS,
        data=unknown,
        headers={"X-Twilio-Signature": fake_sms_provider.sign(live.callback, unknown)},
    )
    assert ignored.status_code == 204  # acknowledged, so the provider stops calling
    [message] = await _messages(live, tokens)
    assert message["state"] == "sent"


@pytest.mark.sqlite_only
async def test_no_sms_stands_in_for_a_message_about_a_cancelled_consult(live: Live) -> None:
    """Her consult was cancelled after its first reminder went by WhatsApp (the second was
    cancelled with it): the first one's failure sends no SMS about a consult that is off."""
    phone = _phone()
    live.provider.not_on_whatsapp.add(phone)
    account, tokens = await _member(live, phone)
    about = await _queue(live, account, Channel.WHATSAPP)
    assert await live.dispatcher.drain() == 1
    await _queue(live, account, Channel.WHATSAPP, about=about)
    async with create_sessionmaker(live.database.engine)() as session:
        assert await outbox.cancel_about(session, about, reason="the consult was cancelled") == 1
        await session.commit()

    assert await live.provider.report() == [204, 204]
    assert await live.dispatcher.drain() == 0
    states = sorted((m["state"], m["reason"]) for m in await _messages(live, tokens))
    assert states == [
        ("cancelled", "the consult was cancelled"),
        ("dead", "the provider could not deliver it (63024): Invalid message recipient"),
    ]
