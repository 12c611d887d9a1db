"""The consult's card (`GET …/consult`): with whom and when, for the people in the consult only;
each name shown is in that person's access log."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.accounts.models import Account
from tests.conftest import Database
from tests.consult_support import consult_soon
from tests.factories import bearer, signed_up


async def test_the_patient_reads_the_doctors_name_title_and_the_time_in_her_zone(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(
        http, database, starts_in=timedelta(minutes=40), doctor_timezone="America/Tijuana"
    )
    room = f"/v1/appointments/{consult['id']}/consult"

    mine = await http.get(room, headers=bearer(consult["patient"]))
    assert mine.status_code == 200, mine.text
    card = mine.json()
    assert card["your_role"] == "patient"
    assert card["doctor"]["display_name"].startswith("Dra. ")
    assert card["doctor"]["specialties"] == [
        {"code": "family_medicine", "en": "Family medicine", "es": "Medicina familiar"}
    ]
    assert card["doctor"]["timezone"] == "America/Tijuana"
    # she booked from Oaxaca: her times are Mexico City's, with the offset on the wire
    assert card["patient_timezone"] == "America/Mexico_City"
    start = datetime.fromisoformat(card["start"])
    offset = ZoneInfo("America/Mexico_City").utcoffset(start.replace(tzinfo=None))
    assert start.utcoffset() == offset
    # the room opens 15 minutes before the start; now is 40 minutes before: not yet
    assert card["room"] == "not-open-yet"
    opens = datetime.fromisoformat(card["room_opens_at"])
    assert opens == start - timedelta(minutes=15)
    until_open = opens - datetime.fromisoformat(card["server_now"])
    assert timedelta(minutes=24) < until_open <= timedelta(minutes=25)
    names = {p["role"]: p["display_name"] for p in card["people"]}
    assert names == {"doctor": card["doctor"]["display_name"], "patient": "Rosa Martínez"}
    assert "email" not in mine.text and "phone" not in mine.text

    # the doctor reads the patient's name, and the patient's access log says so
    theirs = (await http.get(room, headers=bearer(consult["doctor"]))).json()
    assert theirs["your_role"] == "doctor"
    assert {p["display_name"] for p in theirs["people"]} >= {"Rosa Martínez"}
    log = (await http.get("/v1/me/access-log", headers=bearer(consult["patient"]))).json()
    assert {
        (entry["accessor_account_id"], entry["resource"])
        for entry in log["items"]
        if entry["resource"].startswith("consult:")
    } == {(consult["doctor_id"], f"consult:{consult['id']}:people")}


async def test_nobody_outside_the_consult_reads_its_card_and_a_waiting_interpreter_sees_only_the_doctor(  # noqa: E501
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    room = f"/v1/appointments/{consult['id']}/consult"
    _, stranger = await signed_up(http, display_name="Curioso")
    refused = await http.get(room, headers={**bearer(stranger), "Accept-Language": "es"})
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Rosa" not in refused.text
    assert (await http.get(room)).status_code == 401

    rosa = (await http.get("/v1/me", headers=bearer(consult["patient"]))).json()
    async with create_sessionmaker(database.engine)() as session:  # she lives in Tijuana
        await session.execute(
            update(Account)
            .where(col(Account.id) == uuid.UUID(rosa["id"]))
            .values(timezone="America/Tijuana")
        )
        await session.commit()
    interpreter_account, interpreter = await signed_up(http, display_name="Intérprete mixteco")
    invited = await http.post(
        f"{room}/interpreters",
        json={"account_id": interpreter_account["id"]},
        headers=bearer(consult["doctor"]),
    )
    assert invited.status_code == 200, invited.text
    assert (await http.post(f"{room}/join", headers=bearer(interpreter))).is_success
    waiting = (await http.get(room, headers=bearer(interpreter))).json()
    assert [p["role"] for p in waiting["people"]] == ["doctor"]
    assert "Rosa" not in str(waiting)
    assert waiting["patient_timezone"] == "America/Mexico_City"  # not where Rosa lives
    assert "Tijuana" not in str(waiting)

    admitted = await http.post(
        f"{room}/admit",
        json={"account_id": interpreter_account["id"]},
        headers=bearer(consult["doctor"]),
    )
    assert admitted.status_code == 200, admitted.text
    inside = (await http.get(room, headers=bearer(interpreter))).json()
    assert {p["display_name"] for p in inside["people"]} >= {"Rosa Martínez", "Intérprete mixteco"}
    assert inside["patient_timezone"] == "America/Tijuana"
