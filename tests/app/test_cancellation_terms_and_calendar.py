"""What the patient is told before she books and what her calendar gets: until when she may
cancel free of charge, in her own zone; a calendar entry that leads to the consult page and
reminds her, with no health data."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from cooperative.kernel import clock
from tests.conftest import TEST_ADDRESS, Database, make_settings
from tests.factories import bearer, book, login, open_slots, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")

DAY = timedelta(hours=24)  # the default bylaws' late-cancellation window


async def _slots(client: httpx.AsyncClient, tokens: dict[str, Any], doctor_id: str) -> list[Any]:
    later = (clock.today() + timedelta(days=2)).isoformat()
    return [
        s
        for s in await open_slots(client, tokens, **{"from": later})
        if s["practitioner_id"] == doctor_id
    ]


async def test_slots_and_the_booking_say_until_when_cancelling_is_free_in_her_zone(
    client: httpx.AsyncClient, doctor_id: str
) -> None:
    """Lupe lives in Tijuana (the doctor in Mexico City): every time she reads is in Tijuana's
    zone, and the free cancellation ends 24 hours before the consult."""
    tijuana = ZoneInfo("America/Tijuana")
    _, lupe = await signed_up(client, timezone="America/Tijuana")
    slot = (await _slots(client, lupe, doctor_id))[0]
    start = datetime.fromisoformat(slot["start"])
    offered = datetime.fromisoformat(slot["free_cancellation_until"])
    assert offered == start - DAY
    assert offered.utcoffset() == offered.astimezone(tijuana).utcoffset()

    booked = (await book(client, lupe, doctor_id, slot["start"])).json()
    promised = datetime.fromisoformat(booked["free_cancellation_until"])
    assert promised == offered
    assert promised.utcoffset() == promised.astimezone(tijuana).utcoffset()
    seen = (await client.get(f"/v1/appointments/{booked['id']}", headers=bearer(lupe))).json()
    assert seen["free_cancellation_until"] == booked["free_cancellation_until"]


async def test_the_promised_moment_is_when_cancelling_becomes_late(
    client: httpx.AsyncClient, doctor_id: str, travel: Callable[[datetime], None]
) -> None:
    account, rosa = await signed_up(client)  # no zone of her own: the cooperative's
    slots = await _slots(client, rosa, doctor_id)
    first = (await book(client, rosa, doctor_id, slots[0]["start"])).json()
    second = (await book(client, rosa, doctor_id, slots[1]["start"])).json()
    until = datetime.fromisoformat(first["free_cancellation_until"])
    assert until.utcoffset() == until.astimezone(clock.zone()).utcoffset()

    travel(until - timedelta(minutes=1))
    rosa = await login(client, account["email"])  # a day later: a new access token
    on_time = await client.post(
        f"/v1/appointments/{first['id']}/cancel", json={"reason": "x"}, headers=bearer(rosa)
    )
    assert on_time.json()["late_cancellation"] is False
    assert on_time.json()["free_cancellation_until"] is None  # nothing left to cancel

    travel(datetime.fromisoformat(second["free_cancellation_until"]) + timedelta(minutes=1))
    rosa = await login(client, account["email"])
    late = await client.post(
        f"/v1/appointments/{second['id']}/cancel", json={"reason": "x"}, headers=bearer(rosa)
    )
    assert late.status_code == 200, late.text
    assert late.json()["late_cancellation"] is True


async def _calendar(client: httpx.AsyncClient, tokens: dict[str, Any], appointment: str) -> Any:
    response = await client.get(
        f"/v1/appointments/{appointment}/calendar.ics", headers=bearer(tokens)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content), response.text


async def test_the_calendar_entry_leads_to_the_consult_page_and_reminds_her(
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    admin: dict[str, Any],
    client: httpx.AsyncClient,
    doctor_id: str,
) -> None:
    """Her phone's calendar opens the consult page and rings when the room opens (15 minutes
    before), and shows nothing about why she sees the doctor."""
    settings = make_settings(database.url, public_base_url="https://tequio.example.org/")
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=(TEST_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as there:
        _, rosa = await signed_up(there)
        slot = (await _slots(there, rosa, doctor_id))[0]
        booked = (await book(there, rosa, doctor_id, slot["start"], reason="dolor de pecho")).json()
        calendar, text = await _calendar(there, rosa, booked["id"])

    (entry,) = calendar.walk("VEVENT")
    page = f"https://tequio.example.org/consult/{booked['id']}"
    assert str(entry["URL"]) == page
    assert page in str(entry["DESCRIPTION"])
    assert entry.decoded("DTSTART") == datetime.fromisoformat(slot["start"])
    (alarm,) = entry.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == -timedelta(minutes=15)
    assert page in str(alarm["DESCRIPTION"])
    specialties = ["family_medicine", "Medicina familiar", "Family medicine"]  # the doctor's
    for health_data in ("dolor de pecho", *specialties):
        assert health_data not in text


async def test_a_cancelled_consult_leaves_the_calendar_without_a_reminder(
    client: httpx.AsyncClient, doctor_id: str
) -> None:
    _, rosa = await signed_up(client)
    slot = (await _slots(client, rosa, doctor_id))[0]
    booked = (await book(client, rosa, doctor_id, slot["start"])).json()
    await client.post(
        f"/v1/appointments/{booked['id']}/cancel", json={"reason": "x"}, headers=bearer(rosa)
    )
    calendar, _ = await _calendar(client, rosa, booked["id"])
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["STATUS"]) == "CANCELLED" and entry["SEQUENCE"] == 1
    assert entry.walk("VALARM") == []
    # without TEQUIO_PUBLIC_BASE_URL, the link is the server's own address
    assert str(entry["URL"]) == f"http://127.0.0.1:8000/consult/{booked['id']}"
