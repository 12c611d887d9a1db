"""A member's notification preferences: the channel they opt in to (its time recorded) carries
their reminders; quiet hours in their own zone hold a reminder back until they end (across a
change of daylight saving time), and one that cannot wait goes before they begin; the
household's sponsor hears of a consult only while the member agrees; a channel without an
address is refused in the reader's language; each member reads and changes only their own."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cooperative.kernel import clock
from tests.factories import (
    PASSWORD,
    active_member,
    bearer,
    book,
    household,
    join_household,
    open_slots,
    signed_up,
    unique_phone,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")

PREFS = "/v1/me/notification-preferences"
TIJUANA = ZoneInfo("America/Tijuana")
MEXICO = ZoneInfo("America/Mexico_City")
QUIET = {"start": "21:00", "end": "08:00"}


async def _choose(
    client: httpx.AsyncClient, tokens: dict[str, Any], **choices: Any
) -> httpx.Response:
    return await client.put(PREFS, json=choices, headers=bearer(tokens))


async def _messages(client: httpx.AsyncClient, tokens: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    # the code that verified the account at sign-up is not what these tests are about
    return [item for item in items if not item["template"].startswith("code.")]


async def _slot_at(
    client: httpx.AsyncClient, tokens: dict[str, Any], doctor_id: str, day: date, hour: int
) -> str:
    """The doctor's open slot at `hour` (Mexico City) on `day`."""
    wanted = datetime.combine(day, time(hour), tzinfo=MEXICO)
    for slot in await open_slots(client, tokens, **{"from": day.isoformat()}):
        if slot["practitioner_id"] == doctor_id and datetime.fromisoformat(slot["start"]) == wanted:
            found: str = slot["start"]
            return found
    raise AssertionError(f"no slot at {wanted}")


def _next_spring_forward(after: date) -> date:
    """The next Sunday Tijuana's clocks move from 02:00 to 03:00."""
    day = after
    while True:
        noon = datetime.combine(day, time(12), tzinfo=TIJUANA)
        if noon.utcoffset() != datetime.combine(day, time(0), tzinfo=TIJUANA).utcoffset():
            return day
        day += timedelta(days=1)


async def test_opting_in_to_whatsapp_sends_reminders_by_whatsapp_and_records_when(
    client: httpx.AsyncClient, doctor_id: str
) -> None:
    _, rosa = await signed_up(client, phone=unique_phone(), email="rosa.wa@example.org")
    before = (await client.get(PREFS, headers=bearer(rosa))).json()
    assert before["channel"] == "email" and before["channels"] == []
    assert before["opt_ins"]["whatsapp"]["opted_in"] is False

    chosen = await _choose(client, rosa, channels=["whatsapp", "email"], language="en")
    assert chosen.status_code == 200, chosen.text
    shown = chosen.json()
    assert (shown["channel"], shown["channels"], shown["language"]) == (
        "whatsapp",
        ["whatsapp", "email"],
        "en",
    )
    opted_at = datetime.fromisoformat(shown["opt_ins"]["whatsapp"]["opted_in_at"])
    assert abs(opted_at - clock.now()) < timedelta(minutes=1)
    assert shown["opt_ins"]["sms"] == {"opted_in": False, "opted_in_at": None, "opted_out_at": None}

    start = await _slot_at(client, rosa, doctor_id, clock.today() + timedelta(days=2), 10)
    assert (await book(client, rosa, doctor_id, start)).status_code == 201
    assert {(m["channel"], m["language"]) for m in await _messages(client, rosa)} == {
        ("whatsapp", "en")
    }

    out = await _choose(client, rosa, channels=["email"])
    assert out.json()["opt_ins"]["whatsapp"]["opted_out_at"] is not None
    assert (
        out.json()["opt_ins"]["whatsapp"]["opted_in_at"]
        == shown["opt_ins"]["whatsapp"]["opted_in_at"]
    )


async def test_quiet_hours_in_tijuana_hold_reminders_across_the_change_of_time(
    client: httpx.AsyncClient, doctor_id: str, travel: Callable[[datetime], None]
) -> None:
    """Lupe in Tijuana keeps 21:00–08:00 quiet. Her consult is at 08:00 in Mexico City (07:00
    in Tijuana) on the Monday after clocks spring forward: the day-before reminder, due at
    07:00 on Sunday, waits until 08:00 Sunday (daylight time, not 09:00 as eleven hours after
    Saturday 21:00 would say); the hour-before one, due at 06:00, cannot wait until 08:00 (the
    consult is at 07:00): it goes at 20:59 on Sunday, before her quiet hours begin."""
    sunday = _next_spring_forward(clock.today() + timedelta(days=3))
    travel(datetime.combine(sunday - timedelta(days=2), time(18), tzinfo=UTC))
    _, lupe = await signed_up(client, timezone="America/Tijuana")
    assert (await _choose(client, lupe, channels=["email"], quiet_hours=QUIET)).status_code == 200
    monday = sunday + timedelta(days=1)
    start = await _slot_at(client, lupe, doctor_id, monday, 8)
    assert (await book(client, lupe, doctor_id, start)).status_code == 201

    due = sorted(datetime.fromisoformat(m["not_before"]) for m in await _messages(client, lupe))
    assert due == [
        datetime.combine(sunday, time(8), tzinfo=TIJUANA),
        datetime.combine(sunday, time(20, 59), tzinfo=TIJUANA),
    ]
    assert due[0].astimezone(UTC).hour == 15  # 08:00 daylight time (UTC-7)


async def test_the_sponsor_hears_of_a_consult_only_while_the_member_agrees(
    client: httpx.AsyncClient, admin: dict[str, Any], doctor_id: str
) -> None:
    _, juan = await active_member(client, admin)
    rosa_member, rosa = await active_member(client, admin)
    home = await household(client, juan, role="sponsor")
    await join_household(client, juan, home["id"], rosa_member, rosa)
    later = clock.today() + timedelta(days=2)
    first, second = [await _slot_at(client, rosa, doctor_id, later, hour) for hour in (10, 12)]

    assert (await book(client, rosa, doctor_id, first)).status_code == 201
    assert await _messages(client, juan) == []  # she has not agreed

    agreed = await _choose(client, rosa, channels=["email"], sponsor_reminders=True)
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["sponsor_consented_at"] is not None
    booked = await book(client, rosa, doctor_id, second, reason="dolor de muelas")
    assert booked.status_code == 201, booked.text
    told = await _messages(client, juan)
    assert [(m["template"], m["state"]) for m in told] == [
        ("consult.reminder.sponsor", "queued")
    ] * 2
    for message in told:
        assert message["body"].startswith(
            "Alguien del hogar que usted patrocina tiene una consulta"
        )
        for secret in ("muelas", "dolor", "Rosa", booked.json()["id"]):
            assert secret not in message["body"]
    moved_to = await _slot_at(client, rosa, doctor_id, later, 14)
    moved = await client.post(
        f"/v1/appointments/{booked.json()['id']}/reschedule",
        json={"start": moved_to},
        headers=bearer(rosa),
    )
    assert moved.status_code == 200, moved.text
    new_start = datetime.fromisoformat(moved_to)
    assert sorted(
        datetime.fromisoformat(m["not_before"]) for m in await _messages(client, juan)
    ) == [
        new_start - timedelta(hours=24),
        new_start - timedelta(hours=1),
    ]
    # his own preferences are his: her consent is not his
    assert (await client.get(PREFS, headers=bearer(juan))).json()["sponsor_reminders"] is False

    withdrawn = await _choose(client, rosa, channels=["email"], sponsor_reminders=False)
    assert withdrawn.json()["sponsor_withdrawn_at"] is not None
    assert {m["state"] for m in await _messages(client, juan)} == {"cancelled"}
    assert {m["state"] for m in await _messages(client, rosa)} == {"queued"}  # hers stay


@pytest.mark.parametrize(
    ("choices", "slug", "words"),
    [
        ({"channels": ["whatsapp"]}, "no-address-for-channel", ("teléfono", "WhatsApp")),
        ({"channels": ["email", "email"]}, "repeated-channel", ("correo", "dos veces")),
        (
            {"channels": [], "quiet_hours": {"start": "22:00", "end": "22:00"}},
            "empty-quiet-hours",
            ("horario de silencio",),
        ),
        (
            {"channels": [], "quiet_hours": {"start": "21:00+05:00", "end": "08:00"}},
            "validation-error",
            ("Indique una hora del día",),
        ),
    ],
)
async def test_what_cannot_be_kept_is_refused_in_her_language(
    client: httpx.AsyncClient, choices: dict[str, Any], slug: str, words: tuple[str, ...]
) -> None:
    _, rosa = await signed_up(client)  # an email, no phone
    refused = await client.put(
        PREFS, json=choices, headers={**bearer(rosa), "Accept-Language": "es"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith(f"/{slug}")
    said = str(refused.json())  # the detail, and each field's problem
    assert all(word in said for word in words), said
    assert (await client.get(PREFS, headers=bearer(rosa))).json()["channels"] == []


async def test_her_preferences_are_in_her_export_and_go_with_her_erasure(
    client: httpx.AsyncClient,
) -> None:
    _, rosa = await signed_up(client, phone=unique_phone())
    assert (await _choose(client, rosa, channels=["sms"], quiet_hours=QUIET)).status_code == 200
    held = (await client.get("/v1/me/export", headers=bearer(rosa))).json()
    prefs = held["notification_preferences"]
    assert (prefs["sms_opted_in"], prefs["quiet_start"], prefs["quiet_end"]) == (
        True,
        "21:00:00",
        "08:00:00",
    )
    assert prefs["sms_opted_in_at"] is not None
    erased = await client.post("/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(rosa))
    assert erased.status_code == 200, erased.text
    assert "your notification preferences and the record of your opt-ins" in erased.json()["erased"]
