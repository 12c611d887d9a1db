"""Access tokens that must be refused, each with a 401 problem response."""

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Settings
from cooperative.kernel import clock
from tests.conftest import Database, make_settings
from tests.factories import bearer, signed_up


def _claims(tokens: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.get_unverified_claims(tokens["access_token"])
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _assert_refused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(
        "/v1/me", headers={"Authorization": f"Bearer {token}", "Accept-Language": "es"}
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://tequio.coop/problems/invalid-token"
    assert response.json()["title"] == "Token de acceso no válido"


async def test_a_valid_token_works(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    claims = _claims(tokens)
    assert {"sub", "exp", "iat", "jti", "roles", "scope", "iss", "aud", "sid"} <= claims.keys()
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 200


async def test_expired_token(client: httpx.AsyncClient, settings: Settings) -> None:
    _, tokens = await signed_up(client)
    claims = _claims(tokens)
    past = clock.now() - timedelta(hours=1)
    claims.update(iat=int(past.timestamp()), exp=int((past + timedelta(minutes=15)).timestamp()))
    expired = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    await _assert_refused(client, expired)


async def test_a_token_that_worked_stops_working_when_it_expires(
    client: httpx.AsyncClient, travel: Callable[[datetime], None]
) -> None:
    _, tokens = await signed_up(client)  # used once already: its signature was checked then
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 200
    expires = datetime.fromtimestamp(_claims(tokens)["exp"], UTC)
    travel(expires + timedelta(minutes=1))
    await _assert_refused(client, tokens["access_token"])


async def test_bad_signature(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    forged = jwt.encode(_claims(tokens), "not-the-server-secret", algorithm="HS256")
    await _assert_refused(client, forged)


async def test_tampered_payload(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    header, _, signature = tokens["access_token"].split(".")
    claims = _claims(tokens) | {"roles": ["admin"], "scope": "admin me"}
    payload = _b64(json.dumps(claims).encode())
    await _assert_refused(client, f"{header}.{payload}.{signature}")


async def test_alg_none(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(tokens)).encode())
    await _assert_refused(client, f"{header}.{payload}.")


@pytest.mark.parametrize("missing", ["exp", "sub", "jti", "iat"])
async def test_missing_required_claim(
    client: httpx.AsyncClient, settings: Settings, missing: str
) -> None:
    _, tokens = await signed_up(client)
    claims = _claims(tokens)
    del claims[missing]
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    await _assert_refused(client, token)


@pytest.mark.parametrize(("claim", "value"), [("aud", "another-api"), ("iss", "someone-else")])
async def test_wrong_audience_or_issuer(
    client: httpx.AsyncClient, settings: Settings, claim: str, value: str
) -> None:
    _, tokens = await signed_up(client)
    claims = _claims(tokens) | {claim: value}
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    await _assert_refused(client, token)


async def test_garbage_and_wrong_scheme(client: httpx.AsyncClient) -> None:
    for token in ("x", "a.b.c", "%C3%B1.%C3.~~", "eyJ" * 50):
        await _assert_refused(client, token)
    basic = await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_rs256_tokens_and_the_hs256_public_key_confusion(
    database: Database, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """With RS256 configured, an HS256 token 'signed' with the public key must not pass."""
    private, public = _rsa_pair()
    settings = make_settings(
        database.url, jwt_algorithm="RS256", jwt_private_key=private, jwt_public_key=public
    )
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as client:
        _, tokens = await signed_up(client)
        assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "RS256"
        assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 200

        claims = _claims(tokens)
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims).encode())
        signing_input = f"{header}.{payload}".encode()
        signature = _b64(hmac.new(public.encode(), signing_input, hashlib.sha256).digest())
        await _assert_refused(client, f"{header}.{payload}.{signature}")

        other_private, _ = _rsa_pair()
        foreign = jwt.encode(claims, other_private, algorithm="RS256")
        await _assert_refused(client, foreign)


async def test_token_of_an_unknown_session_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, tokens = await signed_up(client)
    claims = _claims(tokens) | {"sid": str(uuid.uuid4())}
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/session-ended")
