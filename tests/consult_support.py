"""Shared by the consult tests: real servers on the test's loop, a consult starting soon, and
signaling-socket helpers."""

import asyncio
import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from sqlmodel import col
from websockets.asyncio.client import ClientConnection, connect

from app.db import create_sessionmaker
from app.main import create_app
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from telehealth.scheduling.models import Appointment
from tests.conftest import Database, _empty_tables, make_settings
from tests.factories import (
    OUTBOXES,
    account_with_role,
    bearer,
    book,
    install_bylaws,
    login,
    open_slots,
    practitioner,
    signed_up,
)

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection


class ErrorsLogged(logging.Handler):
    """Keeps the errors logged while it is attached: the servers and the relay work in event
    handlers and background tasks, where an error is only logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def server(database: Database) -> AsyncIterator[Callable[..., Any]]:
    """Real uvicorn servers on this test's event loop, on committed data; emptied afterwards."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(log_level: str = "warning", **overrides: Any) -> str:
        settings = make_settings(database.url, **overrides)
        sessions = create_sessionmaker(database.engine)
        app = create_app(settings, engine=database.engine, sessionmaker=sessions)
        port = free_port()
        OUTBOXES[f"127.0.0.1:{port}"] = sessions  # where the factories read a code sent
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level=log_level,
            log_config=None,  # as `tequio serve`: uvicorn's lines reach the app's handlers
            lifespan="on",
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


async def consult_soon(
    http: httpx.AsyncClient,
    database: Database,
    *,
    starts_in: timedelta = timedelta(minutes=5),
    doctor_timezone: str = "America/Mexico_City",
    consented: bool = True,
) -> dict[str, Any]:
    """A booked consult starting soon: the doctor, the patient and their tokens; the patient
    consented to be seen remotely unless `consented` is false."""
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = make_settings(database.url)
    admin = await login(http, await account_with_role(committed, settings, Role.ADMIN))
    profile, doctor = await practitioner(http, admin, committed, settings, timezone=doctor_timezone)
    patient_account, patient = await signed_up(http)
    slots = await open_slots(
        http, patient, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    booked = (await book(http, patient, profile["id"], slots[0]["start"])).json()
    if consented:  # to be seen remotely, before joining
        consent = {"version": 1, "language": "es"}
        given = await http.post("/v1/me/telehealth-consents", json=consent, headers=bearer(patient))
        assert given.status_code == 200, given.text
    async with committed() as session:  # the consult's day comes
        start = clock.now() + starts_in
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(booked["id"]))
            .values(start=start, end=start + timedelta(minutes=30))
        )
        await session.commit()
    return {
        "id": booked["id"],
        "doctor": doctor,
        "doctor_name": profile["display_name"],
        "doctor_id": (await http.get("/v1/me", headers=bearer(doctor))).json()["id"],
        "patient": patient,
        "patient_id": patient_account["id"],
        "admin": admin,
    }


async def join_consult(
    http: httpx.AsyncClient, consult: dict[str, Any], who: str
) -> dict[str, Any]:
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(consult[who])
    )
    assert response.status_code == 200, response.text
    joined: dict[str, Any] = response.json()
    return joined


async def open_signal(host: str, consult_id: str, token: str) -> ClientConnection:
    return await connect(f"ws://{host}/v1/consults/{consult_id}/signal?token={token}")


async def signal_as(
    host: str, http: httpx.AsyncClient, consult: dict[str, Any], who: str
) -> ClientConnection:
    """`who` ("doctor", "patient"…) joins the consult and opens its signaling socket."""
    token = (await join_consult(http, consult, who))["consult_token"]
    return await open_signal(host, consult["id"], token)


async def next_of_type(ws: ClientConnection, kind: str) -> dict[str, Any]:
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


def local_peer() -> "RTCPeerConnection":
    """An aiortc peer with no ICE servers: without a configuration aiortc would use Google's
    public STUN server, and nothing here may call outside hosts."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def end_consult(database: Database, consult_id: str) -> None:
    """The consult is long over: it ended hours ago, so its room is closed."""
    async with create_sessionmaker(database.engine)() as session:
        past = clock.now() - timedelta(hours=3)
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(consult_id))
            .values(start=past, end=past + timedelta(minutes=30))
        )
        await session.commit()
