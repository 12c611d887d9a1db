"""Logs are JSON lines with the request id, and never carry a password or a token."""

import json
import logging

import httpx
import pytest

from app.logs import JSONFormatter
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
