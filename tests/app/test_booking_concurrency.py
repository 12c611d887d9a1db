"""Five hundred patients try the same slot of a running server at once: exactly one gets it, on
SQLite and PostgreSQL; an idempotent retry racing its original books once; reschedules, cancels
and time off racing each other and bookings keep the agenda whole."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from app.db import create_engine, create_sessionmaker
from app.security import TokenIssuer
from cooperative.accounts.models import Account, AuthSession
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from cooperative.kernel.principal import Role, scopes_for
from telehealth.practitioners.models import AvailabilityWindow, Licence, Practitioner
from telehealth.scheduling.models import Appointment, SlotCoverage
from telehealth.scheduling.rules import HOLDING
from tests.conftest import BACKENDS, Database, make_settings
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
from tests.live_server import SECRET_KEY, environment, serving, tequio


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


PATIENTS = 500


async def _seed_for_the_race(url: str) -> tuple[str, str, list[str]]:
    """Straight into the database the server will use: the bylaws, a doctor available all week
    08:00–20:00 in Mexico City with an MX licence, and PATIENTS patients, each signed in (a
    stored sign-in session and an access token minted with the server's key, as the token
    endpoint would). Returns the doctor's practitioner id, a slot two days ahead, the tokens."""
    settings = make_settings(url, secret_key=SECRET_KEY)
    engine = create_engine(settings)
    accounts = [
        Account(
            email=f"carrera{n}@example.org",
            display_name="P",
            password_hash="x",
            roles=["patient"],
            email_verified_at=clock.now(),  # verified, as booking requires
        )
        for n in range(PATIENTS)
    ]
    doctor = Account(
        email="dra@example.org", display_name="Dra", password_hash="x", roles=["doctor"]
    )
    profile = Practitioner(
        account_id=doctor.id, display_name="Dra. Carrera", timezone="America/Mexico_City",
        min_notice_minutes=60, horizon_days=30,
    )  # fmt: skip
    signed_in = [AuthSession(account_id=a.id) for a in accounts]
    try:
        async with create_sessionmaker(engine)() as session:
            await bylaws_service.install(session, default_bylaws(), account_id=None)
            for rows in (
                [doctor, *accounts],
                [profile],
                [
                    AvailabilityWindow(
                        practitioner_id=profile.id, weekday=d, start=time(8), end=time(20)
                    )
                    for d in range(7)
                ],
                [
                    Licence(
                        practitioner_id=profile.id,
                        jurisdiction="MX",
                        number="1",
                        expires_on=date(2030, 12, 31),
                    )
                ],
                signed_in,
            ):
                session.add_all(rows)
                await session.flush()
            await session.commit()
    finally:
        await engine.dispose()
    issuer = TokenIssuer(settings)
    tokens = [
        issuer.issue(account_id=a.account_id, session_id=a.id, roles=frozenset({"patient"}),
                     scopes=scopes_for({"patient"}))
        for a in signed_in
    ]  # fmt: skip
    zone = ZoneInfo("America/Mexico_City")
    day = clock.now().astimezone(zone).date() + timedelta(days=2)
    start = datetime.combine(day, time(10), zone).astimezone(UTC).isoformat()
    return str(profile.id), start, tokens


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_five_hundred_patients_booking_one_slot_of_a_running_server_make_one_appointment(
    backend: str, empty_database_url: Callable[[str], Any], tmp_path: Path
) -> None:
    """`tequio serve` with two workers; all at once, each patient over their own connection."""
    url = await empty_database_url(backend)
    env = environment(
        url,
        workers="2",
        log_level="WARNING",
        db_pool_timeout_seconds="300",  # 500 requests queue for 20 connections a worker
        sqlite_busy_timeout_ms="300000",  # and, on SQLite, for its one writer
    )
    await asyncio.to_thread(tequio, env, "migrate")
    doctor_id, start, tokens = await _seed_for_the_race(url)
    body = {"practitioner_id": doctor_id, "start": start, "patient_jurisdiction": "MX"}
    limits = httpx.Limits(max_connections=PATIENTS, max_keepalive_connections=PATIENTS)
    with serving(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=300) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/v1/appointments", json=body, headers={"Authorization": f"Bearer {t}"}
                    )
                    for t in tokens
                )
            )
        errors = [line for line in server.log_lines() if '"level": "error"' in line]
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: PATIENTS - 1}, (statuses, errors[:5])
    assert all(r.json()["type"].endswith("/slot-taken") for r in responses if r.status_code == 409)
    engine = create_engine(make_settings(url))
    try:
        async with engine.connect() as connection:
            live = await connection.execute(
                select(func.count())
                .select_from(Appointment)
                .where(col(Appointment.status).in_(HOLDING))
            )
            assert live.scalar_one() == 1
    finally:
        await engine.dispose()


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


async def test_a_cancel_retried_with_its_key_gets_the_same_answer_not_409(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """The phone sends the cancel four times at once and once more later, all with one key:
    one cancellation, recorded once; every answer is the cancelled appointment."""
    client, doctor_id, start = await _world(live_client_with, database)
    _, patient = await signed_up(client)
    appointment = (await book(client, patient, doctor_id, start)).json()
    base = f"/v1/appointments/{appointment['id']}"
    headers = {**bearer(patient), "Idempotency-Key": "cancelar-la-consulta-1"}

    def cancel(reason: str = "no puedo ir") -> Any:
        return client.post(f"{base}/cancel", json={"reason": reason}, headers=headers)

    answers = [*await asyncio.gather(*(cancel() for _ in range(4))), await cancel()]
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert {a.json()["status"] for a in answers} == {"cancelled"}
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 4
    listed = (await client.get(f"{base}/events", headers=bearer(patient))).json()["items"]
    events = [e["type"] for e in listed]
    assert events == ["booked", "cancelled"]
    # without the key, or with it for another request, a second cancel is still refused
    again = await client.post(f"{base}/cancel", json={"reason": "x"}, headers=bearer(patient))
    assert again.status_code == 409
    other = await cancel("otra razón")
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")


async def test_a_reschedule_retried_with_its_key_gets_the_same_answer(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, doctor_id, _ = await _world(live_client_with, database)
    _, patient = await signed_up(client)
    later = (clock.today() + timedelta(days=2)).isoformat()
    starts = [
        s["start"]
        for s in await open_slots(client, patient, **{"from": later})
        if s["practitioner_id"] == doctor_id
    ]
    appointment = (await book(client, patient, doctor_id, starts[0])).json()
    base = f"/v1/appointments/{appointment['id']}"
    headers = {**bearer(patient), "Idempotency-Key": "mover-la-consulta-1"}
    answers = await asyncio.gather(
        *(
            client.post(f"{base}/reschedule", json={"start": starts[1]}, headers=headers)
            for _ in range(4)
        )
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert len({a.json()["start"] for a in answers}) == 1
    listed = (await client.get(f"{base}/events", headers=bearer(patient))).json()["items"]
    events = [e["type"] for e in listed]
    assert events == ["booked", "rescheduled"]
    # the time it left is open again, the time it took is not
    open_now = {s["start"] for s in await open_slots(client, patient, **{"from": later})}
    assert starts[0] in open_now and starts[1] not in open_now
    # a retry after the patient cancelled still answers with the appointment as it is now
    cancelled = await client.post(f"{base}/cancel", json={"reason": "x"}, headers=bearer(patient))
    assert cancelled.status_code == 200
    late_retry = await client.post(f"{base}/reschedule", json={"start": starts[1]}, headers=headers)
    assert late_retry.status_code == 200 and late_retry.json()["status"] == "cancelled"


async def test_reschedules_racing_cancellations_never_move_a_cancelled_consult(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, doctor_id, _ = await _world(live_client_with, database)
    _, patient = await signed_up(client)
    later = (clock.today() + timedelta(days=2)).isoformat()
    starts = [
        s["start"]
        for s in await open_slots(client, patient, **{"from": later})
        if s["practitioner_id"] == doctor_id
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
        answer = await client.get(f"{base}/events", headers=bearer(patient))
        events = [e["type"] for e in answer.json()["items"]]
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
        if s["practitioner_id"] == doctor_id
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
