"""Logs are JSON lines with the request id, and never carry a password or a token."""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from app.logs import JSONFormatter
from tests.conftest import Database
from tests.consult_support import consult_soon, join_consult, next_of_type, open_signal
from tests.factories import PASSWORD, unique_email


async def test_no_password_or_token_reaches_the_logs(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = unique_email()
    await client.post(
        "/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Rosa"}
    )
    tokens = (
        await client.post(
            "/v1/auth/token?source=app", json={"username": email, "password": PASSWORD}
        )
    ).json()
    await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    await client.post("/v1/auth/token", json={"username": email, "password": "wrong password!"})

    formatter = JSONFormatter()
    client_side = ("httpx", "httpcore")  # the test's own HTTP client, not the server
    lines = [
        formatter.format(record)
        for record in caplog.records
        if record.name.split(".")[0] not in client_side
    ]
    access = [json.loads(line) for line in lines if '"tequio.access"' in line]
    assert len(access) == 5
    assert all(entry["request_id"] and entry["status"] for entry in access)
    assert {entry["path"] for entry in access} >= {"/v1/auth/token", "/v1/me"}
    everything = "\n".join(lines)
    for secret in (PASSWORD, "wrong password!", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in everything
    assert email not in everything
    assert "source=app" not in everything  # no query strings


async def test_the_servers_own_lines_carry_no_consult_token_and_no_client_address(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """uvicorn logs each WebSocket handshake with the client's address and the path with its
    query string, which carries the consult token."""
    host = await server(log_level="info")
    http = http_to(host)
    consult = await consult_soon(http, database)
    token = (await join_consult(http, consult, "doctor"))["consult_token"]
    caplog.set_level(logging.INFO)
    socket = await open_signal(host, consult["id"], token)
    client_port = socket.local_address[1]
    await next_of_type(socket, "welcome")
    await socket.close()
    with contextlib.suppress(InvalidStatus):  # refused at the handshake: logged all the same
        await open_signal(host, consult["id"], "not-a-token-" + token[-12:])
    await asyncio.sleep(0.2)

    formatter = JSONFormatter()
    lines = [formatter.format(r) for r in caplog.records if not r.name.startswith("websockets")]
    everything = "\n".join(lines)
    sockets = [
        json.loads(line)
        for line in lines
        if '"route": "/v1/consults/{appointment_id}/signal"' in line
    ]
    assert sorted(entry["status"] for entry in sockets) == [101, 403]  # accepted, refused
    assert token not in everything and token[-12:] not in everything
    assert "token=" not in everything
    assert f"127.0.0.1:{client_port}" not in everything
    assert f"'127.0.0.1', {client_port}" not in everything
