"""Consult rooms through a real server: join, waiting room, signaling, reconnects, auth failures."""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from sqlmodel import col
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.db import create_sessionmaker
from app.main import create_app
from cooperative.kernel.principal import Role
from cooperative.kernel.types import utcnow
from telehealth.scheduling.models import Appointment
from tests.conftest import Database, _empty_tables, make_settings
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def server(database: Database) -> AsyncIterator[Callable[..., Any]]:
    """Real uvicorn servers on this test's event loop, on committed data; emptied afterwards."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> str:
        settings = make_settings(database.url, **overrides)
        app = create_app(
            settings, engine=database.engine, sessionmaker=create_sessionmaker(database.engine)
        )
        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        instance = uvicorn.Server(config)
        task = asyncio.create_task(instance.serve())
        for _ in range(500):  # up to 10 s
            if instance.started:
                break
            await asyncio.sleep(0.02)
        servers.append((instance, task))
        return f"127.0.0.1:{port}"

    try:
        yield start
    finally:
        for instance, task in servers:
            instance.should_exit = True
            await task
        await _empty_tables(database.engine)


async def _consult(
    http: httpx.AsyncClient, database: Database, *, starts_in: timedelta = timedelta(minutes=5)
) -> dict[str, Any]:
    """A booked consult starting soon: the doctor, the patient and their tokens."""
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = make_settings(database.url)
    admin = await login(http, await account_with_role(committed, settings, Role.ADMIN))
    profile, doctor = await practitioner(http, admin, committed, settings)
    patient_account, patient = await signed_up(http)
    slots = await open_slots(
        http, patient, **{"from": (date.today() + timedelta(days=2)).isoformat()}
    )
    booked = (await book(http, patient, profile["id"], slots[0]["start"])).json()
    async with committed() as session:  # the consult's day comes
        start = utcnow() + starts_in
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(booked["id"]))
            .values(start=start, end=start + timedelta(minutes=30))
        )
        await session.commit()
    me = lambda tokens: http.get("/v1/me", headers=bearer(tokens))  # noqa: E731
    return {
        "id": booked["id"],
        "doctor": doctor,
        "doctor_id": (await me(doctor)).json()["id"],
        "patient": patient,
        "patient_id": patient_account["id"],
        "admin": admin,
    }


async def _join(http: httpx.AsyncClient, consult: dict[str, Any], who: str) -> dict[str, Any]:
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(consult[who])
    )
    assert response.status_code == 200, response.text
    joined: dict[str, Any] = response.json()
    return joined


async def _socket(host: str, consult_id: str, token: str) -> ClientConnection:
    return await connect(f"ws://{host}/v1/consults/{consult_id}/signal?token={token}")


async def _next(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of `kind`, skipping others (within five seconds)."""
    async with asyncio.timeout(5):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


@pytest.fixture
async def http_to(database: Database) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(host: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=f"http://{host}", timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_join_gives_a_token_and_no_public_ice_servers(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await _consult(http, database)
    patient = await _join(http, consult, "patient")
    doctor = await _join(http, consult, "doctor")
    assert (patient["role"], patient["admitted"]) == ("patient", False)
    assert (doctor["role"], doctor["admitted"]) == ("doctor", True)
    assert patient["ice_servers"] == []  # nothing configured: never a public STUN server
    _, outsider = await signed_up(http)
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(outsider)
    )
    assert response.status_code == 404


async def test_turn_credentials_follow_coturns_shared_secret_scheme(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    import base64
    import hashlib
    import hmac

    host = await server(turn_secret="coturn-static-auth-secret", turn_urls="turn:127.0.0.1:3478")
    http = http_to(host)
    consult = await _consult(http, database)
    joined = await _join(http, consult, "patient")
    [turn] = joined["ice_servers"]
    assert turn["urls"] == ["turn:127.0.0.1:3478"]
    expiry, participant = turn["username"].split(":")
    assert participant == consult["patient_id"] and int(expiry) > utcnow().timestamp()
    expected = hmac.new(b"coturn-static-auth-secret", turn["username"].encode(), hashlib.sha1)
    assert turn["credential"] == base64.b64encode(expected.digest()).decode()


async def test_a_room_is_closed_long_before_and_after_the_consult(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await _consult(http, database, starts_in=timedelta(hours=3))
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(consult["patient"])
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/room-not-open")


async def test_waiting_room_admission_signaling_and_chat(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await _consult(http, database)
    doctor_ws = await _socket(
        host, consult["id"], (await _join(http, consult, "doctor"))["consult_token"]
    )
    welcome = await _next(doctor_ws, "welcome")
    assert welcome["admitted"] is True
    patient_ws = await _socket(
        host, consult["id"], (await _join(http, consult, "patient"))["consult_token"]
    )
    assert (await _next(patient_ws, "welcome"))["admitted"] is False
    waiting = await _next(doctor_ws, "presence")
    assert (waiting["event"], waiting["from"]) == ("waiting", consult["patient_id"])

    # before admission the patient cannot send an offer
    await patient_ws.send(json.dumps({"type": "offer", "to": consult["doctor_id"], "sdp": "v=0"}))
    assert (await _next(patient_ws, "error"))["code"] == "not-admitted"

    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    admitted = await _next(patient_ws, "presence")
    assert (admitted["event"], admitted["account_id"]) == ("admitted", consult["patient_id"])

    await doctor_ws.send(
        json.dumps({"type": "offer", "to": consult["patient_id"], "sdp": "v=0 o=d"})
    )
    offer = await _next(patient_ws, "offer")
    assert (offer["sdp"], offer["from"]) == ("v=0 o=d", consult["doctor_id"])
    await patient_ws.send(
        json.dumps({"type": "answer", "to": consult["doctor_id"], "sdp": "v=0 o=p"})
    )
    assert (await _next(doctor_ws, "answer"))["sdp"] == "v=0 o=p"
    await patient_ws.send(json.dumps({"type": "chat", "text": "¿Me escucha, doctora?"}))
    assert (await _next(doctor_ws, "chat"))["text"] == "¿Me escucha, doctora?"

    # invalid and oversize messages get an error and the socket stays open
    for bad in (
        "not json",
        json.dumps({"type": "dance"}),
        json.dumps({"type": "chat", "text": "x" * 70_000}),
    ):
        await patient_ws.send(bad)
        assert (await _next(patient_ws, "error"))["code"] in ("invalid-message", "too-large")
    await patient_ws.send(json.dumps({"type": "ping"}))
    await _next(patient_ws, "pong")

    # a reconnecting patient gets the room back, with the doctor's latest offer to replay
    await patient_ws.close()
    assert (await _next(doctor_ws, "presence"))["event"] == "leave"
    again = await _socket(
        host, consult["id"], (await _join(http, consult, "patient"))["consult_token"]
    )
    back = await _next(again, "welcome")
    assert back["admitted"] is True
    assert [m["sdp"] for m in back["replay"] if m["type"] == "offer"] == ["v=0 o=d"]
    present = {p["account_id"] for p in back["participants"] if p["present"]}
    assert present == {consult["doctor_id"], consult["patient_id"]}
    await again.close()
    await doctor_ws.close()


async def test_a_flood_is_rate_limited_without_closing_the_socket(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server(signal_burst=5, signal_messages_per_second=1)
    http = http_to(host)
    consult = await _consult(http, database)
    ws = await _socket(host, consult["id"], (await _join(http, consult, "doctor"))["consult_token"])
    await _next(ws, "welcome")
    for _ in range(20):
        await ws.send(json.dumps({"type": "ping"}))
    assert (await _next(ws, "error"))["code"] == "rate-limited"
    await asyncio.sleep(1.1)
    await ws.send(json.dumps({"type": "ping"}))
    await _next(ws, "pong")
    await ws.close()


@pytest.mark.parametrize("case", ["garbage", "other-consult", "room-closed"])
async def test_sockets_refuse_bad_tokens_and_closed_rooms(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    case: str,
) -> None:
    host = await server()
    http = http_to(host)
    consult = await _consult(http, database)
    token = (await _join(http, consult, "patient"))["consult_token"]
    target = consult["id"]
    if case == "garbage":
        token = "not-a-token"
    elif case == "other-consult":
        target = str(uuid.uuid4())
    else:
        async with create_sessionmaker(database.engine)() as session:
            past = utcnow() - timedelta(hours=3)
            await session.execute(
                update(Appointment)
                .where(col(Appointment.id) == uuid.UUID(consult["id"]))
                .values(start=past, end=past + timedelta(minutes=30))
            )
            await session.commit()
    with pytest.raises(InvalidStatus) as refused:
        await _socket(host, target, token)
    assert refused.value.response.status_code == 403  # closed before the handshake completes
