"""The log scan: a real `tequio serve` (JSON logs at INFO on stderr, uvicorn's loggers included)
and a whole journey over real HTTP and a real WebSocket — sign-up, sign-in, refresh, booking,
the consult's signaling socket with its `?token=`, a secret ballot, a wrong password, sign-out —
then every line the process wrote is searched for what must never be in a log: passwords,
access, refresh and consult tokens, the ballot's receipt and its hash, client addresses (the
X-Forwarded-For address sent, and 127.0.0.1 with a port the client used), emails and phones.
"""

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from websockets.asyncio.client import connect

from app.db import create_engine, create_sessionmaker
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from telehealth.scheduling.models import Appointment
from tests.conftest import BACKENDS, make_settings
from tests.factories import (
    OUTBOXES,
    account_with_role,
    apply,
    bearer,
    book,
    code_sent_to,
    decide,
    login,
    open_slots,
    practitioner,
    register,
)
from tests.governance_support import open_vote, propose, vote
from tests.live_server import environment, serving, tequio

FORWARDED = "198.51.100.23"  # TEST-NET-2: the client's address as a proxy reports it
ADMIN_PASSWORD = "contraseña del admin 2026"
PATIENT_PASSWORD = "nopal con chile y sal"
WRONG_PASSWORD = "no es mi contraseña"
PHONE = "+52 951 555 0199"
pytestmark = pytest.mark.slow


@dataclass
class Journey:
    lines: list[str]
    secrets: dict[str, str]  # value → what it is
    client_ports: set[int]
    server_port: int

    def leaks(self, line: str) -> list[str]:
        found = [label for value, label in self.secrets.items() if value in line]
        for port in re.findall(r"127\.0\.0\.1\D{1,4}(\d{2,5})", line):
            if int(port) in self.client_ports:
                found.append(f"the client's address 127.0.0.1, port {port}")
        return found


def _is_websocket_handshake(line: str) -> bool:
    """uvicorn's own line for each WebSocket handshake: `('addr', port) - "WebSocket
    /path?query" [accepted]`."""
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return str(entry.get("logger", "")).startswith("uvicorn") and '"WebSocket ' in str(
        entry.get("message", "")
    )


async def _journey(base: str, database_url: str, ports: set[int]) -> dict[str, str]:
    """Everything a family, a doctor and an admin do in a day; returns the secrets it made."""

    async def note_port(response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        address = stream.get_extra_info("client_addr") if stream else None
        if address:
            ports.add(address[1])

    secrets: dict[str, str] = {
        ADMIN_PASSWORD: "the admin's password",
        PATIENT_PASSWORD: "the patient's password",
        WRONG_PASSWORD: "a mistyped password",
        FORWARDED: "the client's forwarded address",
        PHONE: "the patient's phone as typed",
    }
    async with httpx.AsyncClient(
        base_url=base,
        headers={"X-Forwarded-For": FORWARDED},
        event_hooks={"response": [note_port]},
        timeout=30,
    ) as http:
        admin_email = "admin.logs@example.org"
        admin = await login(http, admin_email, ADMIN_PASSWORD)
        assert (
            await http.post("/v1/bylaws/versions", json={}, headers=bearer(admin))
        ).status_code == 201

        email = f"rosa.{uuid.uuid4().hex[:6]}@example.org"
        outbox = create_engine(make_settings(database_url))  # where the factory reads the code
        OUTBOXES[base.removeprefix("http://")] = create_sessionmaker(outbox)
        try:
            account = await register(http, email=email, phone=PHONE, password=PATIENT_PASSWORD)
            code = await code_sent_to(http, email)
        finally:
            await outbox.dispose()
        assert code is not None
        wrong = await http.post(
            "/v1/auth/token", json={"username": email, "password": WRONG_PASSWORD}
        )
        assert wrong.status_code == 401
        first = await login(http, account["phone"], PATIENT_PASSWORD)
        refreshed = await http.post(
            "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        patient = refreshed.json()
        member = await apply(http, patient, full_name="Rosa Martínez López")
        assert (await decide(http, admin, member["id"])).status_code == 200

        settings = make_settings(database_url)
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        try:
            profile, doctor = await practitioner(http, admin, sessions, settings)
            day = (clock.today() + timedelta(days=2)).isoformat()
            slots = await open_slots(http, patient, **{"from": day})
            booked = await book(http, patient, profile["id"], slots[0]["start"])
            assert booked.status_code == 201, booked.text
            appointment = booked.json()["id"]
            consented = await http.post(
                "/v1/me/telehealth-consents",
                json={"version": 1, "language": "es"},
                headers=bearer(patient),
            )
            assert consented.status_code == 200, consented.text
            async with sessions() as session:  # the consult's day has come
                start = clock.now() + timedelta(minutes=5)
                await session.execute(
                    update(Appointment)
                    .where(col(Appointment.id) == uuid.UUID(appointment))
                    .values(start=start, end=start + timedelta(minutes=30))
                )
                await session.commit()
            doctor_email = await account_with_role(sessions, settings, Role.DOCTOR)
        finally:
            await engine.dispose()
        doctor_me = (await http.get("/v1/me", headers=bearer(doctor))).json()

        host = base.removeprefix("http://")
        for tokens, proxied in ((doctor, False), (patient, True)):  # straight, and via a proxy
            joined = await http.post(
                f"/v1/appointments/{appointment}/consult/join", headers=bearer(tokens)
            )
            assert joined.status_code == 200, joined.text
            consult_token = joined.json()["consult_token"]
            secrets[consult_token] = "a consult token"
            async with connect(
                f"ws://{host}/v1/consults/{appointment}/signal?token={consult_token}",
                additional_headers={"X-Forwarded-For": FORWARDED} if proxied else {},
            ) as socket:
                ports.add(socket.local_address[1])
                welcome = json.loads(await asyncio.wait_for(socket.recv(), 5))
                assert welcome["type"] == "welcome", welcome

        draft = await propose(http, admin)
        await open_vote(http, admin, draft["id"])
        cast = await vote(http, patient, draft["id"], vote="yes")
        assert cast.status_code == 200, cast.text
        receipt = cast.json()
        verified = await http.get(
            f"/v1/proposals/{draft['id']}/verify",
            params={"receipt": receipt["receipt"]},
            headers=bearer(patient),
        )
        assert verified.status_code in (200, 409), verified.text  # 409: not closed yet
        signed_out = await http.post(
            "/v1/auth/logout",
            json={"refresh_token": patient["refresh_token"]},
            headers=bearer(patient),
        )
        assert signed_out.status_code == 204, signed_out.text

    for tokens, who in ((admin, "the admin's"), (first, "the patient's first"),
                        (patient, "the patient's"), (doctor, "the doctor's")):  # fmt: skip
        for kind in ("access_token", "refresh_token"):
            secrets[tokens[kind]] = f"{who} {kind.replace('_', ' ')}"
            secrets[tokens[kind].rsplit(".", 1)[-1]] = f"{who} {kind.replace('_', ' ')}'s signature"
    secrets |= {
        receipt["receipt"]: "the ballot's receipt",
        code: "the one-time code that verified the patient's email",
        receipt["receipt_hash"]: "the ballot receipt's hash",
        admin_email: "the admin's email",
        email: "the patient's email",
        account["phone"]: "the patient's phone",
        doctor_email: "an email",
        doctor_me["email"]: "the doctor's email",
    }
    return secrets


@pytest.fixture(scope="module", params=BACKENDS)
async def journey(
    request: pytest.FixtureRequest,
    empty_database_url: Callable[[str], Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Journey:
    folder: Path = tmp_path_factory.mktemp("log-scan")
    url = await empty_database_url(request.param)
    env = environment(url, log_json="true", log_level="INFO")
    await asyncio.to_thread(tequio, env, "migrate")
    await asyncio.to_thread(
        tequio,
        env,
        "create-admin",
        "--email",
        "admin.logs@example.org",
        "--password-stdin",
        stdin=ADMIN_PASSWORD,
    )
    ports: set[int] = set()
    with serving(env, folder) as server:
        secrets = await _journey(server.base, url, ports)
    return Journey(server.log_lines(), secrets, ports, server.port)


def test_the_journey_was_logged(journey: Journey) -> None:
    """The scan means something: the server did log the journey, as JSON, with request ids."""
    entries = [json.loads(line) for line in journey.lines if line.startswith("{")]
    access = [e for e in entries if e.get("logger") == "tequio.access"]
    assert len(access) > 20
    assert {"/v1/auth/token", "/v1/auth/refresh", "/v1/auth/logout"} <= {e["path"] for e in access}
    assert any(e["path"].endswith("/signal") for e in access)
    assert all(e["request_id"] for e in access)
    assert journey.client_ports


def test_no_log_line_carries_a_secret_or_a_client_address(journey: Journey) -> None:
    """uvicorn's own lines included: its WebSocket handshake line once carried the consult
    token in the query and the client's address."""
    leaks = [f"{journey.leaks(line)}: {line}" for line in journey.lines if journey.leaks(line)]
    assert not leaks, "\n".join(leaks)
    assert not [line for line in journey.lines if _is_websocket_handshake(line)]


@pytest.mark.slow
def test_every_worker_of_a_multi_worker_server_writes_its_json_lines(tmp_path: Path) -> None:
    """With TEQUIO_WORKERS=2 the workers once wrote no line at all: only the parent process
    had configured logging."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}"
    env = environment(url, log_json="true", log_level="INFO", workers="2")
    tequio(env, "migrate")
    with serving(env, tmp_path) as server:
        for _ in range(6):
            assert httpx.get(f"{server.base}/healthz/live", timeout=5).status_code == 200
        time.sleep(0.5)
        lines = server.log_lines()
    access = [json.loads(line) for line in lines if '"tequio.access"' in line]
    assert len(access) >= 6, "\n".join(lines[-20:])
    assert {entry["path"] for entry in access} >= {"/healthz/live"}
