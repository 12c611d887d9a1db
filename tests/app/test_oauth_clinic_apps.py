"""A clinic's server app (client credentials): its staff register it, an admin approves it, and
its own token books for that clinic's registered patients and nothing else: not another
clinic's patient, not a member's `/v1/me`. Staff of another clinic cannot register one for it."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
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
