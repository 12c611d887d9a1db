"""A consult's reminders: queued with the booking at 24 hours and 1 hour before it, sent at
those instants (the clock is moved, never waited for), moved by a reschedule, cancelled by a
cancel; in the patient's language and zone (and the doctor's when it differs), with the link
to the consult page and nothing about the patient's health."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.outbox import Dispatcher
from cooperative.kernel import clock
from cooperative.notifications.providers import DevelopmentProvider
from tests.factories import PASSWORD, bearer, book, login, open_slots, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")

BASE = "https://tequio.test"


@pytest.fixture
def inbox() -> DevelopmentProvider:
    return DevelopmentProvider()


@pytest.fixture
def dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], inbox: DevelopmentProvider
) -> Dispatcher:
    return Dispatcher(sessionmaker, [inbox], base_url=BASE)


async def _slots(client: httpx.AsyncClient, tokens: dict[str, Any], doctor_id: str) -> list[Any]:
    later = (clock.today() + timedelta(days=2)).isoformat()
    return [
        s
        for s in await open_slots(client, tokens, **{"from": later})
        if s["practitioner_id"] == doctor_id
    ]


async def _messages(client: httpx.AsyncClient, tokens: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    # the code that verified the account at sign-up is not what these tests are about
    return [item for item in items if not item["template"].startswith("code.")]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _doctor_told(dispatcher: Dispatcher, inbox: DevelopmentProvider) -> None:
    """The doctor's notice of a booking or a cancellation is due at once
    (test_clinic_and_doctor_notices.py): sent and set aside, so what follows is the patient's."""
    assert await dispatcher.drain() == 1
    inbox.inbox.clear()


async def test_a_booking_queues_reminders_sent_at_24_hours_and_1_hour_before(
    client: httpx.AsyncClient,
    doctor_id: str,
    dispatcher: Dispatcher,
    inbox: DevelopmentProvider,
    travel: Callable[[datetime], None],
) -> None:
    account, rosa = await signed_up(client)
    slot = (await _slots(client, rosa, doctor_id))[0]
    booked = await book(client, rosa, doctor_id, slot["start"], reason="dolor en el pecho")
    assert booked.status_code == 201, booked.text
    start = _at(slot["start"])

    queued = await _messages(client, rosa)
    assert [(_at(m["not_before"]), m["state"]) for m in queued] == [
        (start - timedelta(hours=1), "queued"),
        (start - timedelta(hours=24), "queued"),
    ]
    assert all(m["channel"] == "email" and m["language"] == "es" for m in queued)
    await _doctor_told(dispatcher, inbox)  # her reminders are not due yet
    assert await dispatcher.drain() == 0

    travel(start - timedelta(hours=24) + timedelta(seconds=1))
    assert await dispatcher.drain() == 1
    [first] = inbox.inbox
    assert first.address == account["email"]
    assert first.body.startswith("Tiene una consulta de Tequio el ")
    assert f"{BASE}/consult/{booked.json()['id']}" in first.body
    for health in ("pecho", "dolor", "cardio", "Cardio"):
        assert health not in first.body and health not in first.subject

    travel(start - timedelta(hours=1) + timedelta(seconds=1))
    assert await dispatcher.drain() == 1
    rosa = await login(client, account["email"])  # a day later: a new access token
    assert [m["state"] for m in await _messages(client, rosa)] == ["sent", "sent"]
    assert len(inbox.inbox) == 2


async def test_the_time_is_in_her_zone_and_language_and_the_doctors_when_it_differs(
    client: httpx.AsyncClient,
    doctor_id: str,
    dispatcher: Dispatcher,
    inbox: DevelopmentProvider,
    travel: Callable[[datetime], None],
) -> None:
    """Lupe reads English and lives in Tijuana; her doctor is in Mexico City."""
    _, lupe = await signed_up(client, timezone="America/Tijuana", preferred_language="en")
    slot = (await _slots(client, lupe, doctor_id))[0]
    assert (await book(client, lupe, doctor_id, slot["start"])).status_code == 201
    start = _at(slot["start"])
    await _doctor_told(dispatcher, inbox)

    travel(start - timedelta(hours=24) + timedelta(seconds=1))
    assert await dispatcher.drain() == 1
    [message] = inbox.inbox
    assert message.subject == "Your Tequio consult"
    assert "(Tijuana time)" in message.body
    assert "For your doctor it is " in message.body
    assert "(Mexico City time)" in message.body


async def test_a_reschedule_moves_the_reminders_and_a_cancel_cancels_them(
    client: httpx.AsyncClient,
    doctor_id: str,
    dispatcher: Dispatcher,
    inbox: DevelopmentProvider,
    travel: Callable[[datetime], None],
) -> None:
    account, rosa = await signed_up(client)
    slots = await _slots(client, rosa, doctor_id)
    booked = (await book(client, rosa, doctor_id, slots[0]["start"])).json()
    await _doctor_told(dispatcher, inbox)
    later = slots[3]["start"]
    moved = await client.post(
        f"/v1/appointments/{booked['id']}/reschedule", json={"start": later}, headers=bearer(rosa)
    )
    assert moved.status_code == 200, moved.text
    new_start = _at(later)
    assert [(_at(m["not_before"]), m["state"]) for m in await _messages(client, rosa)] == [
        (new_start - timedelta(hours=1), "queued"),
        (new_start - timedelta(hours=24), "queued"),
    ]

    travel(new_start - timedelta(hours=24) + timedelta(seconds=1))
    assert await dispatcher.drain() == 1
    rosa = await login(client, account["email"])
    cancelled = await client.post(
        f"/v1/appointments/{booked['id']}/cancel", json={"reason": "x"}, headers=bearer(rosa)
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [m["state"] for m in await _messages(client, rosa)] == ["cancelled", "sent"]

    travel(new_start - timedelta(minutes=30))
    assert await dispatcher.drain() == 1  # only the doctor's notice of the cancellation
    assert [m.subject for m in inbox.inbox] == [
        "Su consulta de Tequio",
        "Se canceló una consulta de su agenda",
    ]


async def test_a_booking_less_than_a_day_ahead_gets_only_the_hour_before(
    client: httpx.AsyncClient, doctor_id: str, travel: Callable[[datetime], None]
) -> None:
    account, rosa = await signed_up(client)
    slot = (await _slots(client, rosa, doctor_id))[0]
    start = _at(slot["start"])
    travel(start - timedelta(hours=5))
    rosa = await login(client, account["email"])
    assert (await book(client, rosa, doctor_id, slot["start"])).status_code == 201
    assert [_at(m["not_before"]) for m in await _messages(client, rosa)] == [
        start - timedelta(hours=1)
    ]


async def test_a_phone_only_patient_gets_them_by_sms_and_others_see_none(
    client: httpx.AsyncClient, doctor_id: str
) -> None:
    _, juana = await signed_up(client, phone="+529511234567")
    slot = (await _slots(client, juana, doctor_id))[0]
    assert (await book(client, juana, doctor_id, slot["start"])).status_code == 201
    assert {m["channel"] for m in await _messages(client, juana)} == {"sms"}
    _, stranger = await signed_up(client)
    assert await _messages(client, stranger) == []


async def test_her_messages_are_in_her_export_and_go_with_her_erasure(
    client: httpx.AsyncClient, doctor_id: str
) -> None:
    _, rosa = await signed_up(client)
    slot = (await _slots(client, rosa, doctor_id))[0]
    assert (await book(client, rosa, doctor_id, slot["start"])).status_code == 201
    export = (await client.get("/v1/me/export", headers=bearer(rosa))).json()
    sent = [m for m in export["notifications"] if not m["template"].startswith("code.")]
    assert [m["template"] for m in sent] == ["consult.reminder"] * 2  # and the sign-up's code
    assert not {"claim_token", "claimed_until"} & set(sent[0])

    erased = await client.post("/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(rosa))
    assert erased.status_code == 200, erased.text
    assert "the messages sent to you and those waiting to be sent" in erased.json()["erased"]


async def test_moved_to_less_than_a_day_ahead_the_day_before_reminder_is_cancelled(
    client: httpx.AsyncClient, doctor_id: str, travel: Callable[[datetime], None]
) -> None:
    account, rosa = await signed_up(client)
    slots = await _slots(client, rosa, doctor_id)
    booked = (await book(client, rosa, doctor_id, slots[-1]["start"])).json()
    sooner = _at(slots[0]["start"])
    travel(sooner - timedelta(hours=10))
    rosa = await login(client, account["email"])
    moved = await client.post(
        f"/v1/appointments/{booked['id']}/reschedule",
        json={"start": slots[0]["start"]},
        headers=bearer(rosa),
    )
    assert moved.status_code == 200, moved.text
    assert sorted((m["state"], _at(m["not_before"])) for m in await _messages(client, rosa)) == [
        ("cancelled", _at(slots[-1]["start"]) - timedelta(hours=24)),
        ("queued", sooner - timedelta(hours=1)),
    ]
