"""Fifty patients try the same slot at once: exactly one gets it, on SQLite and PostgreSQL; and an
idempotent retry racing its original books once."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from telehealth.scheduling.models import SlotCoverage
from tests.conftest import Database
from tests.factories import (
    account_with_role,
    bearer,
    book,
    install_bylaws,
    login,
    open_slots,
    practitioner,
    signed_up,
)


async def _world(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> tuple[httpx.AsyncClient, str, str]:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    profile, _ = await practitioner(client, admin, committed, settings)
    _, anyone = await signed_up(client)
    start = (
        await open_slots(
            client, anyone, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
        )
    )[0]["start"]
    return client, profile["id"], start


async def test_fifty_concurrent_bookings_of_one_slot_make_one_appointment(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, doctor_id, start = await _world(live_client_with, database)
    patients = [(await signed_up(client))[1] for _ in range(50)]
    responses = await asyncio.gather(*(book(client, p, doctor_id, start) for p in patients))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    assert all(r.json()["type"].endswith("/slot-taken") for r in responses if r.status_code == 409)


async def test_an_idempotent_retry_racing_its_original_books_once(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, doctor_id, start = await _world(live_client_with, database)
    _, patient = await signed_up(client)
    body = {"practitioner_id": doctor_id, "start": start, "patient_jurisdiction": "MX"}
    headers = {**bearer(patient), "Idempotency-Key": "la-misma-consulta"}
    responses = await asyncio.gather(
        *(client.post("/v1/appointments", json=body, headers=headers) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    mine = (await client.get("/v1/appointments", headers=bearer(patient))).json()["items"]
    assert len(mine) == 1


async def test_reschedules_racing_cancellations_never_move_a_cancelled_consult(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, doctor_id, _ = await _world(live_client_with, database)
    _, patient = await signed_up(client)
    later = (clock.today() + timedelta(days=2)).isoformat()
    starts = [
        s["start"]
        for s in await open_slots(client, patient, **{"from": later})
        if s["practitioner"]["id"] == doctor_id
    ]
    for round_ in range(5):
        appointment = (await book(client, patient, doctor_id, starts[2 * round_])).json()
        base = f"/v1/appointments/{appointment['id']}"
        await asyncio.gather(
            client.post(f"{base}/cancel", json={"reason": "x"}, headers=bearer(patient)),
            client.post(
                f"{base}/reschedule",
                json={"start": starts[2 * round_ + 1]},
                headers=bearer(patient),
            ),
        )
        events = [
            e["type"] for e in (await client.get(f"{base}/events", headers=bearer(patient))).json()
        ]
        assert events in (["booked", "cancelled"], ["booked", "rescheduled", "cancelled"]), events


async def test_time_off_racing_bookings_flags_every_booking_inside_it(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, doctor_id, _ = await _world(live_client_with, database)
    patients = [(await signed_up(client))[1] for _ in range(6)]
    later = (clock.today() + timedelta(days=2)).isoformat()
    starts = [
        s["start"]
        for s in await open_slots(client, patients[0], **{"from": later})
        if s["practitioner"]["id"] == doctor_id
    ][:6]
    committed = create_sessionmaker(database.engine)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    off = {
        "start": starts[0],
        "end": (datetime.fromisoformat(starts[-1]) + timedelta(hours=1)).isoformat(),
    }
    results = await asyncio.gather(
        *(book(client, p, doctor_id, s) for p, s in zip(patients, starts, strict=True)),
        client.post(f"/v1/practitioners/{doctor_id}/time-off", json=off, headers=bearer(admin)),
    )
    booked = [r.json() for r in results[:-1] if r.status_code == 201]
    for appointment in booked:
        seen = (
            await client.get(f"/v1/appointments/{appointment['id']}", headers=bearer(admin))
        ).json()
        assert seen["needs_reschedule"] is True, "a booking inside time off must be flagged"


async def test_searches_racing_to_lay_out_a_stale_doctor_all_answer_alike(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """Ten searches meet a doctor whose open slots are out of date (a worker's sweep never
    came): each lays it out or waits for the one that does, and all answer the same slots."""
    client, doctor_id, _ = await _world(live_client_with, database)
    _, patient = await signed_up(client)
    day = {"from": (clock.today() + timedelta(days=1)).isoformat()}
    before = [s["start"] for s in await open_slots(client, patient, **day)]
    committed = create_sessionmaker(database.engine)
    async with committed() as session:
        await session.execute(
            update(SlotCoverage)
            .where(col(SlotCoverage.practitioner_id) == uuid.UUID(doctor_id))
            .values(fresh_until=datetime(1970, 1, 1, tzinfo=UTC))
        )
        await session.commit()
    pages = await asyncio.gather(*(open_slots(client, patient, **day) for _ in range(10)))
    assert all([s["start"] for s in page] == before for page in pages)
    async with committed() as session:
        coverage = await session.get(SlotCoverage, uuid.UUID(doctor_id))
        assert coverage is not None and coverage.fresh_until > clock.now()
