"""A clinic's server app (client credentials): its staff register it, an admin approves it, and
its own token books for that clinic's registered patients and nothing else: not another
clinic's patient, not a member's `/v1/me`. Staff of another clinic cannot register one for it."""

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt as jose_jwt
from joserfc.jwk import RSAKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.app.test_appointments_api import _first_slot
from tests.factories import (
    bearer,
    book,
    clinic_staff,
    new_clinic,
    practitioner,
    registered_with_clinic,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def _clinic_app(
    client: httpx.AsyncClient, staff: dict[str, Any], clinic_id: str
) -> httpx.Response:
    return await client.post(
        "/v1/apps",
        json={
            "name": "Expediente de San Miguel",
            "kind": "confidential",
            "scopes": ["appointments:read", "appointments:write", "me"],
            "contact": "sistemas@sanmiguel.example.org",
            "clinic_id": clinic_id,
        },
        headers=bearer(staff),
    )


async def test_a_clinic_app_books_for_its_clinics_patients_only(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, _ = await practitioner(client, admin, sessionmaker, settings)
    clinics = [await new_clinic(client, admin, n) for n in ("Clínica San Miguel", "Ejutla")]
    staff = await clinic_staff(client, admin, clinics[0]["id"])
    other_staff = await clinic_staff(client, admin, clinics[1]["id"])
    rosa, rosa_tokens = await signed_up(client)
    juan, juan_tokens = await signed_up(client)
    await registered_with_clinic(client, staff, clinics[0]["id"], rosa_tokens, rosa["email"])
    await registered_with_clinic(client, other_staff, clinics[1]["id"], juan_tokens, juan["email"])

    foreign = await _clinic_app(client, other_staff, clinics[0]["id"])
    assert foreign.status_code == 404 and clinics[0]["name"] not in foreign.text
    created = await _clinic_app(client, staff, clinics[0]["id"])
    assert created.status_code == 201, created.text
    app = created.json()
    credentials = (app["client_id"], app["client_secret"])
    early = await client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=credentials
    )
    assert early.status_code == 401 and early.json()["error"] == "invalid_client"  # unapproved
    approved = await client.post(
        f"/v1/apps/{app['client_id']}/approve", json={}, headers=bearer(admin)
    )
    assert approved.status_code == 200, approved.text

    wrong = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], "tqs_not-the-secret"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    issued = await client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=credentials
    )
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert tokens["scope"] == "appointments:read appointments:write"  # never `me`
    # nothing to refresh (RFC 6749 §4.4.3): the app asks again with its credentials
    assert "refresh_token" not in tokens and "refresh_token_expires_in" not in tokens

    start = await _first_slot(client, staff, profile["id"])
    for_rosa = await book(
        client,
        tokens,
        profile["id"],
        start,
        patient_account_id=rosa["id"],
        clinic_id=clinics[0]["id"],
        referral_reason="Control de presión",
    )
    assert for_rosa.status_code == 201, for_rosa.text
    for body in (
        {"patient_account_id": juan["id"], "clinic_id": clinics[1]["id"]},
        {"patient_account_id": juan["id"], "clinic_id": clinics[0]["id"]},
    ):
        refused = await book(client, tokens, profile["id"], start, referral_reason="x", **body)
        assert refused.status_code in (403, 404), refused.text
        assert juan["email"] not in refused.text
    me = await client.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 403 and rosa["id"] not in me.text
    seen = await client.get(f"/v1/appointments/{for_rosa.json()['id']}", headers=bearer(tokens))
    assert seen.status_code == 200, seen.text
    log = await client.get("/v1/me/access-log", headers=bearer(rosa_tokens))
    assert "Expediente de San Miguel" in {e["app_name"] for e in log.json()["items"]}

    third = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=credentials,
    )
    assert third.status_code == 400 and third.json()["error"] == "invalid_scope"
    public = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": rosa["id"]},
    )
    assert public.status_code == 401


def _signed(private_pem: bytes, client_id: str, audience: str, jti: str) -> str:
    """A client assertion as an app's own JWT library makes it (python-jose, not the server's
    joserfc)."""
    now = int(clock.now().timestamp())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "jti": jti, "exp": now + 60}
    token: str = jose_jwt.encode(claims, private_pem.decode(), algorithm="RS256")
    return token


async def test_a_clinic_app_authenticates_with_private_key_jwt_once_per_assertion(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    clinic = await new_clinic(client, admin)
    staff = await clinic_staff(client, admin, clinic["id"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_jwk = RSAKey.import_key(pem).as_dict(private=False)
    leaked = await client.post(
        "/v1/apps",
        json={
            "name": "Llave privada",
            "kind": "confidential",
            "scopes": ["appointments:read"],
            "contact": "x@example.org",
            "jwks": {"keys": [RSAKey.import_key(pem).as_dict(private=True)]},
        },
        headers=bearer(staff),
    )
    assert leaked.status_code == 422  # a private key never leaves the app
    created = await client.post(
        "/v1/apps",
        json={
            "name": "Expediente con llave",
            "kind": "confidential",
            "scopes": ["appointments:read"],
            "contact": "sistemas@sanmiguel.example.org",
            "clinic_id": clinic["id"],
            "jwks": {"keys": [public_jwk]},
        },
        headers=bearer(staff),
    )
    assert created.status_code == 201, created.text
    app = created.json()
    assert app["client_secret"] is None
    assert app["token_endpoint_auth_method"] == "private_key_jwt"
    await client.post(f"/v1/apps/{app['client_id']}/approve", json={}, headers=bearer(admin))
    audience = "http://tequio.test/v1/auth/token"
    assertion = _signed(pem, app["client_id"], audience, "one")
    body = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    issued = await client.post("/v1/auth/token", data=body)
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "appointments:read"
    replayed = await client.post("/v1/auth/token", data=body)
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client"

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for forged in (
        _signed(other, app["client_id"], audience, "two"),  # not its key
        _signed(pem, app["client_id"], "https://elsewhere.example/token", "three"),
    ):
        refused = await client.post("/v1/auth/token", data=body | {"client_assertion": forged})
        assert refused.status_code == 401, refused.text
    secretless = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], "anything"),
    )
    assert secretless.status_code == 401
