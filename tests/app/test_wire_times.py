"""One rule for times on the wire: every instant in a JSON answer is RFC 3339 with the offset of
the caller's zone (the account's `timezone`, else the cooperative's), and event payloads are
typed. The check walks every GET of the OpenAPI document it can fill from one journey."""

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import (
    apply,
    attest,
    bearer,
    book,
    decide,
    household,
    open_slots,
    practitioner,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
IN_DOCTORS_ZONE = {"practitioner_start"}  # documented: the same instant in the doctor's zone
TIJUANA = "America/Tijuana"  # never the cooperative's offset: -08:00/-07:00 against -06:00


def _instants(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, RFC 3339 text) in a JSON document, at any depth."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _instants(v, k)]
    if isinstance(value, list):
        return [found for v in value for found in _instants(v, key)]
    if isinstance(value, str) and RFC3339.match(value) and key not in IN_DOCTORS_ZONE:
        return [(key, value)]
    return []


def _offset_errors(body: Any, zone: ZoneInfo) -> list[str]:
    wrong = []
    for key, text in _instants(body):
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.utcoffset() != moment.astimezone(zone).utcoffset():
            wrong.append(f"{key}={text}")
    return wrong


async def _sample(
    client: httpx.AsyncClient, tokens: dict[str, Any], ids: dict[str, str]
) -> dict[str, Any]:
    """Every GET of the OpenAPI document whose path parameters `ids` fills, as `tokens`; those
    open to anyone (no `security`) answer in the cooperative's zone, and are checked apart."""
    spec = (await client.get("/openapi.json")).json()
    answers: dict[str, Any] = {}
    public: dict[str, Any] = {}
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(name not in ids for name in names):
            continue
        url = path.format(**ids)
        response = await client.get(url, headers=bearer(tokens))
        if response.status_code == 200 and "json" in response.headers["content-type"]:
            signed_in = bool(operations["get"].get("security"))
            (answers if signed_in else public)[path] = response.json()
    for path, body in public.items():
        assert not _offset_errors(body, clock.zone()), (path, _offset_errors(body, clock.zone()))
    return answers


async def test_every_time_in_every_answer_is_in_the_callers_zone(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    doctor, _ = await practitioner(client, admin, sessionmaker, settings)
    account, rosa = await signed_up(client, timezone=TIJUANA)
    member = await apply(client, rosa)
    assert (await decide(client, admin, member["id"])).status_code == 200
    home = await household(client, rosa)
    await attest(client, rosa, home["id"])
    slots = await open_slots(
        client, rosa, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    booked = (await book(client, rosa, doctor["id"], slots[0]["start"])).json()
    moved = await client.post(
        f"/v1/appointments/{booked['id']}/reschedule",
        json={"start": slots[1]["start"]},
        headers=bearer(rosa),
    )
    assert moved.status_code == 200, moved.text
    called_off = await client.post(
        f"/v1/appointments/{booked['id']}/cancel", json={"reason": "viaje"}, headers=bearer(rosa)
    )
    assert called_off.status_code == 200, called_off.text
    ids = {
        "account_id": account["id"],
        "member_id": member["id"],
        "household_id": home["id"],
        "practitioner_id": doctor["id"],
        "appointment_id": booked["id"],
        "number": "1",
    }

    # Rosa's account says Tijuana: every instant she is shown carries Tijuana's offset
    hers = await _sample(client, rosa, ids)
    assert len(hers) >= 15, sorted(hers)
    checked = {path: _instants(body) for path, body in hers.items()}
    assert sum(map(len, checked.values())) >= 20, checked
    for path, body in hers.items():
        assert not _offset_errors(body, ZoneInfo(TIJUANA)), (
            path,
            _offset_errors(body, ZoneInfo(TIJUANA)),
        )
    # the slot list, the booking answer and the events agree (they did not: -06:00, UTC, both)
    assert slots[0]["start"].endswith(("-08:00", "-07:00"))
    assert booked["start"][-6:] == slots[0]["start"][-6:]

    # the admin's account has no zone: the cooperative's
    theirs = await _sample(client, admin, ids)
    assert len(theirs) >= 15, sorted(theirs)
    for path, body in theirs.items():
        assert not _offset_errors(body, clock.zone()), (path, _offset_errors(body, clock.zone()))


async def test_appointment_events_are_typed(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    doctor, _ = await practitioner(client, admin, sessionmaker, settings)
    _, rosa = await signed_up(client, timezone=TIJUANA)
    slots = await open_slots(
        client, rosa, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    booked = (await book(client, rosa, doctor["id"], slots[0]["start"])).json()
    await client.post(
        f"/v1/appointments/{booked['id']}/cancel", json={"reason": "viaje"}, headers=bearer(rosa)
    )
    events = (
        await client.get(f"/v1/appointments/{booked['id']}/events", headers=bearer(rosa))
    ).json()["items"]
    made, cancelled = events[0]["payload"], events[-1]["payload"]
    assert made["start"] == slots[0]["start"]  # the instant she booked, in her zone
    assert cancelled["late"] is False  # a boolean, not the text "False"
    assert cancelled["reason"] == "viaje"
