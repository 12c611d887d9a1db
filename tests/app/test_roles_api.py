"""Roles: admins give and take them through the API with a reason; the person sees each change."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import (
    PASSWORD,
    admin_tokens,
    bearer,
    book,
    clinic_staff,
    grant_role,
    login,
    new_clinic,
    open_slots,
    practitioner,
    registered_with_clinic,
    signed_up,
)


async def _register_patient(
    client: httpx.AsyncClient, staff: dict[str, Any], clinic_id: str
) -> httpx.Response:
    _, patient = await signed_up(client)
    phone_or_email = (await client.get("/v1/me", headers=bearer(patient))).json()["email"]
    return await client.post(
        f"/v1/clinics/{clinic_id}/patients",
        json={"username": phone_or_email},
        headers=bearer(staff),
    )


async def test_an_admin_onboards_a_nurse_at_her_clinic_and_she_sees_why(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    """Before, no endpoint gave anyone a role: a cooperative could not onboard a nurse without
    SQL."""
    san_miguel = (await new_clinic(client, admin, "Clínica San Miguel"))["id"]
    other = (await new_clinic(client, admin, "Clínica Tlaxiaco"))["id"]
    account, before = await signed_up(client, display_name="Juana Pérez")
    found = await client.get(
        "/v1/accounts/lookup", params={"contact": account["email"]}, headers=bearer(admin)
    )
    assert found.status_code == 200
    assert found.json() == {
        "id": account["id"],
        "display_name": "Juana Pérez",
        "roles": ["patient"],
    }

    granted = await grant_role(
        client,
        admin,
        account["id"],
        "clinic_staff",
        clinic_id=san_miguel,
        reason="Enfermera de la clínica desde noviembre",
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["roles"] == ["clinic_staff", "patient"]
    assert granted.json()["clinic_ids"] == [san_miguel]
    # a new role's powers come with the next token; the old one keeps only a patient's
    assert (await _register_patient(client, before, san_miguel)).status_code == 403
    nurse = await login(client, account["email"])
    assert (await _register_patient(client, nurse, san_miguel)).status_code == 202
    assert (await _register_patient(client, nurse, other)).status_code == 404

    mine = (await client.get("/v1/me/roles", headers=bearer(nurse))).json()
    [change] = mine["history"]
    assert change["role"] == "clinic_staff" and change["action"] == "granted"
    assert change["clinic_id"] == san_miguel
    assert change["reason"] == "Enfermera de la clínica desde noviembre"
    assert change["by"] == "Test admin"
    log = (await client.get("/v1/me/access-log", headers=bearer(nurse))).json()["items"]
    assert any(entry["resource"] == "account" for entry in log)  # the admin looked her up

    revoked = await client.post(
        f"/v1/accounts/{account['id']}/roles/revoke",
        json={"role": "clinic_staff", "clinic_id": san_miguel, "reason": "Dejó la clínica"},
        headers=bearer(admin),
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["roles"] == ["patient"] and revoked.json()["clinic_ids"] == []
    # a revoked role's powers end on the very next request, whatever token she holds
    assert (await _register_patient(client, nurse, san_miguel)).status_code == 403
    history = (await client.get("/v1/me/roles", headers=bearer(nurse))).json()["history"]
    assert [(c["action"], c["reason"]) for c in history] == [
        ("granted", "Enfermera de la clínica desde noviembre"),
        ("revoked", "Dejó la clínica"),
    ]


async def test_staff_of_two_clinics_keep_the_role_until_the_last_one(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    first, second = [(await new_clinic(client, admin, name))["id"] for name in ("Norte", "Sur")]
    nurse = await clinic_staff(client, admin, first)
    me = (await client.get("/v1/me", headers=bearer(nurse))).json()
    assert (await grant_role(client, admin, me["id"], "clinic_staff", clinic_id=second)).is_success
    again = await grant_role(client, admin, me["id"], "clinic_staff", clinic_id=second)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/role-already-held")
    left = await client.post(
        f"/v1/accounts/{me['id']}/roles/revoke",
        json={"role": "clinic_staff", "clinic_id": first, "reason": "Cambió de clínica"},
        headers=bearer(admin),
    )
    assert left.json()["roles"] == ["clinic_staff", "patient"]
    assert left.json()["clinic_ids"] == [second]
    assert (await _register_patient(client, nurse, second)).status_code == 202
    assert (await _register_patient(client, nurse, first)).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"role": "patient", "reason": "¿por qué no?"}, 422, "validation-error"),
        ({"role": "clinic_staff", "reason": "sin clínica"}, 422, "validation-error"),
        ({"role": "board", "reason": "x"}, 422, "validation-error"),  # a reason, not a letter
        ({"role": "board"}, 422, "validation-error"),
        ({"role": "superuser", "reason": "quiero todo"}, 422, "validation-error"),
    ],
)
async def test_a_grant_needs_a_real_role_and_a_reason(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    body: dict[str, Any],
    status: int,
    problem: str,
) -> None:
    account, _ = await signed_up(client)
    response = await client.post(
        f"/v1/accounts/{account['id']}/roles", json=body, headers=bearer(admin)
    )
    assert response.status_code == status
    assert response.json()["type"].endswith(problem)
    roles = (await client.get(f"/v1/accounts/{account['id']}/roles", headers=bearer(admin))).json()
    assert roles["roles"] == ["patient"] and roles["history"] == []


async def test_only_admins_give_roles_and_nobody_takes_the_last_admins(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    account, patient = await signed_up(client)
    me = (await client.get("/v1/me", headers=bearer(admin))).json()
    for path, body in (
        (f"/v1/accounts/{account['id']}/roles", {"role": "board", "reason": "yo mismo"}),
        (f"/v1/accounts/{me['id']}/roles/revoke", {"role": "admin", "reason": "golpe"}),
    ):
        refused = await client.post(path, json=body, headers=bearer(patient))
        assert refused.status_code == 403
    for path in (f"/v1/accounts/{me['id']}/roles", "/v1/accounts/lookup?contact=x@y.org"):
        response = await client.get(path, headers=bearer(patient))
        assert response.status_code == 403 and "Test admin" not in response.text
    assert (await grant_role(client, admin, account["id"], "board")).status_code == 201
    assert (await grant_role(client, admin, account["id"], "board")).status_code == 409
    missing = await grant_role(client, admin, "1f0c7a52-3c1e-4b8e-9d7a-2c1f0e9b8a11", "board")
    assert missing.status_code == 404
    no_clinic = await grant_role(
        client,
        admin,
        account["id"],
        "clinic_staff",
        clinic_id="1f0c7a52-3c1e-4b8e-9d7a-2c1f0e9b8a11",
    )
    assert no_clinic.status_code == 404

    last = await client.post(
        f"/v1/accounts/{me['id']}/roles/revoke",
        json={"role": "admin", "reason": "me voy"},
        headers=bearer(admin),
    )
    assert last.status_code == 409
    assert last.json()["type"].endswith("/last-admin")
    not_held = await client.post(
        f"/v1/accounts/{account['id']}/roles/revoke",
        json={"role": "doctor", "reason": "nunca lo fue"},
        headers=bearer(admin),
    )
    assert not_held.status_code == 409
    assert not_held.json()["type"].endswith("/role-not-held")


async def test_two_admins_revoking_each_other_at_once_leave_one_admin(
    live_client: httpx.AsyncClient,
) -> None:
    """Each sees two admins and would leave none if both succeeded."""
    app = live_client._transport.app  # type: ignore[attr-defined]
    first, second = [
        await admin_tokens(live_client, app.state.sessionmaker, app.state.settings)
        for _ in range(2)
    ]
    ids = [
        (await live_client.get("/v1/me", headers=bearer(t))).json()["id"] for t in (first, second)
    ]
    results = await asyncio.gather(
        *(
            live_client.post(
                f"/v1/accounts/{target}/roles/revoke",
                json={"role": "admin", "reason": "desacuerdo"},
                headers=bearer(tokens),
            )
            for tokens, target in ((first, ids[1]), (second, ids[0]))
        )
    )
    # the loser is refused as the last admin (409), or, when the winner committed before its
    # request was authorized, as no longer an admin (403)
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([200, 403], [200, 409]), [r.text for r in results]
    winner = first if results[0].status_code == 200 else second
    still = [
        (await live_client.get(f"/v1/accounts/{i}/roles", headers=bearer(winner))).json()["roles"]
        for i in ids
    ]
    assert sum("admin" in held for held in still) == 1


@pytest.mark.usefixtures("bylaws_installed")
async def test_a_nurse_taken_off_her_clinic_keeps_none_of_the_consults_she_booked_there(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Booking for a patient once let the booker read and cancel that consult for ever."""
    clinic = (await new_clinic(client, admin))["id"]
    nurse = await clinic_staff(client, admin, clinic)
    nurse_account = (await client.get("/v1/me", headers=bearer(nurse))).json()
    profile, _ = await practitioner(client, admin, sessionmaker, settings)
    rosa, rosa_tokens = await signed_up(client)
    await registered_with_clinic(client, nurse, clinic, rosa_tokens, rosa["email"])
    start = next(
        s["start"]
        for s in await open_slots(
            client, nurse, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
        )
        if s["practitioner_id"] == profile["id"]
    )
    booked = await book(
        client,
        nurse,
        profile["id"],
        start,
        patient_account_id=rosa["id"],
        clinic_id=clinic,
        referral_reason="seguimiento cardiaco",
    )
    assert booked.status_code == 201, booked.text
    url = f"/v1/appointments/{booked.json()['id']}"
    assert (await client.get(url, headers=bearer(nurse))).status_code == 200

    revoked = await client.post(
        f"/v1/accounts/{nurse_account['id']}/roles/revoke",
        json={"role": "clinic_staff", "clinic_id": clinic, "reason": "dejó la clínica"},
        headers=bearer(admin),
    )
    assert revoked.status_code == 200, revoked.text
    former = await login(client, nurse_account["email"])
    for response in (
        await client.get(url, headers=bearer(former)),
        await client.get(f"{url}/events", headers=bearer(former)),
        await client.get(f"{url}/calendar.ics", headers=bearer(former)),
        await client.post(f"{url}/cancel", json={"reason": "ya no"}, headers=bearer(former)),
    ):
        assert response.status_code == 404, response.text
        assert "seguimiento" not in response.text
    listed = await client.get("/v1/appointments", headers=bearer(former))
    assert booked.json()["id"] not in listed.text
    assert (await client.get(url, headers=bearer(rosa_tokens))).status_code == 200


async def test_erasing_an_account_takes_its_roles_on_the_record_and_never_the_last_admins(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    """The last admin was refused losing the role, then erased the account and left none."""
    erase = {"password": PASSWORD}
    last = await client.post("/v1/me/erasure", json=erase, headers=bearer(admin))
    assert last.status_code == 409
    assert last.json()["type"].endswith("/last-admin")
    assert (await client.get("/v1/me", headers=bearer(admin))).status_code == 200

    clinic = (await new_clinic(client, admin))["id"]
    nurse = await clinic_staff(client, admin, clinic)
    account = (await client.get("/v1/me", headers=bearer(nurse))).json()
    assert (await grant_role(client, admin, account["id"], "admin")).status_code == 201
    erased = await client.post("/v1/me/erasure", json=erase, headers=bearer(nurse))
    assert erased.status_code == 200, erased.text
    roles = (await client.get(f"/v1/accounts/{account['id']}/roles", headers=bearer(admin))).json()
    assert roles["roles"] == [] and roles["clinic_ids"] == []
    revoked = [(c["role"], c["reason"]) for c in roles["history"] if c["action"] == "revoked"]
    assert sorted(revoked) == [
        ("admin", "the account was erased"),
        ("clinic_staff", "the account was erased"),
    ]
