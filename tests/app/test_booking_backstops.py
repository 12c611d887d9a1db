"""What stands behind the booking checks when they are raced past: the database's partial unique
index on a live (practitioner, start) and the unique Idempotency-Key per booker. The checks are
made to miss here, as a race would make them miss, and the insert itself must then refuse the
slot, or answer with the booking the same key made, on SQLite and PostgreSQL alike."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock, idempotency
from cooperative.notifications.models import OutboxMessage
from telehealth.scheduling import agenda
from telehealth.scheduling.models import AppointmentEvent, OpenSlot
from tests.factories import bearer, book, open_slots, practitioner, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def nothing_booked(*_: Any, **__: Any) -> list[Any]:
    return []


async def _doctor_and_slot(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> tuple[str, str]:
    profile, _ = await practitioner(client, admin, sessionmaker, settings)
    _, anyone = await signed_up(client)
    later = (clock.today() + timedelta(days=2)).isoformat()
    slots = await open_slots(client, anyone, **{"from": later})
    return profile["id"], next(s["start"] for s in slots if s["practitioner_id"] == profile["id"])


async def test_a_slot_the_checks_missed_is_refused_by_the_database(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doctor_id, start = await _doctor_and_slot(client, admin, sessionmaker, settings)
    _, first = await signed_up(client)
    assert (await book(client, first, doctor_id, start)).status_code == 201

    monkeypatch.setattr(agenda, "busy", nothing_booked)  # as if the booking came in meanwhile
    _, second = await signed_up(client)
    refused = await book(client, second, doctor_id, start)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/slot-taken")
    mine = await client.get("/v1/appointments", headers=bearer(second))
    assert mine.json()["items"] == []


async def test_a_retry_the_checks_let_through_answers_with_the_first_booking(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doctor_id, start = await _doctor_and_slot(client, admin, sessionmaker, settings)
    _, patient = await signed_up(client)
    body = {"practitioner_id": doctor_id, "start": start, "patient_jurisdiction": "MX"}
    headers = {**bearer(patient), "Idempotency-Key": "una-sola-vez"}
    first = await client.post("/v1/appointments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    written = await _written(sessionmaker, first.json()["id"])
    assert written[0] == ["booked"] and written[1] >= 2, written  # the notice, the reminders

    looks: list[str] = []
    earlier = idempotency.IdempotentCreate.earlier

    async def counted(self: Any, session: Any) -> Any:
        looks.append("look")
        return await earlier(self, session)

    monkeypatch.setattr(idempotency.IdempotentCreate, "earlier", counted)
    monkeypatch.setattr(agenda, "busy", nothing_booked)  # the slot looks free to the checks
    again = await client.post("/v1/appointments", json=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(looks) == 1  # found once the insert met the key, not up front
    mine = await client.get("/v1/appointments", headers=bearer(patient))
    assert [item["id"] for item in mine.json()["items"]] == [first.json()["id"]]
    # the insert that met the key wrote nothing beside it (on PostgreSQL the event, messages and
    # slots taken ride in the insert's own statement)
    assert await _written(sessionmaker, first.json()["id"]) == written


async def _written(
    sessionmaker: async_sessionmaker[AsyncSession], appointment_id: str
) -> tuple[list[str], int]:
    """The appointment's events, and how many messages about it the outbox holds."""
    about = f"appointment:{appointment_id}"
    async with sessionmaker() as session:
        events = await session.scalars(
            select(col(AppointmentEvent.type)).where(
                col(AppointmentEvent.appointment_id) == uuid.UUID(appointment_id)
            )
        )
        messages = await session.scalars(
            select(col(OutboxMessage.id)).where(col(OutboxMessage.about).startswith(about))
        )
        return list(events), len(list(messages))


async def test_a_slot_without_its_open_slot_row_is_still_booked_by_the_rules(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """The open slot's row is the quick yes; its absence is not a no: the rules decide (a doctor
    whose rows were lost, or not yet laid out this far ahead)."""
    doctor_id, start = await _doctor_and_slot(client, admin, sessionmaker, settings)
    async with sessionmaker() as session:
        mine = col(OpenSlot.practitioner_id) == uuid.UUID(doctor_id)
        await session.execute(delete(OpenSlot).where(mine))
        await session.commit()
    _, patient = await signed_up(client)
    booked = await book(client, patient, doctor_id, start)
    assert booked.status_code == 201, booked.text
    _, other = await signed_up(client)
    refused = await book(client, other, doctor_id, start)
    assert refused.status_code == 409, refused.text
