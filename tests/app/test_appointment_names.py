"""Whose consult it is: the doctor and the clinic's nurse see the patient's name, the patient
sees the doctor's name and title, each read is in the patient's access log, and nobody else
learns the name (issue 14, item 11)."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import (
    active_member,
    bearer,
    book,
    clinic_staff,
    household,
    new_clinic,
    open_slots,
    practitioner,
    registered_with_clinic,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")

Tokens = dict[str, Any]


async def _slots(client: httpx.AsyncClient, tokens: Tokens, doctor_id: str) -> list[str]:
    found = await open_slots(client, tokens, **{"from": (clock.today() + timedelta(days=2))})
    return [s["start"] for s in found if s["practitioner_id"] == doctor_id]


async def _appointments(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    listed = await client.get("/v1/appointments", headers=bearer(tokens))
    assert listed.status_code == 200, listed.text
    return {a["id"]: a for a in listed.json()["items"]}


async def _log(client: httpx.AsyncClient, tokens: Tokens) -> list[tuple[str, str]]:
    log = await client.get("/v1/me/access-log", headers=bearer(tokens))
    return [(e["accessor_role"], e["resource"]) for e in log.json()["items"]]


async def test_the_nurse_and_the_doctor_see_whose_consult_it_is_and_nobody_else(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, doctor = await practitioner(client, admin, sessionmaker, settings)
    place, elsewhere = (await new_clinic(client, admin), await new_clinic(client, admin, "Ejutla"))
    nurse = await clinic_staff(client, admin, place["id"])
    other_nurse = await clinic_staff(client, admin, elsewhere["id"])
    rosa, rosa_tokens = await signed_up(client, display_name="Rosa Martínez")
    await registered_with_clinic(client, nurse, place["id"], rosa_tokens, rosa["email"])
    start = (await _slots(client, nurse, profile["id"]))[0]

    booked = await book(
        client,
        nurse,
        profile["id"],
        start,
        patient_account_id=rosa["id"],
        clinic_id=place["id"],
        referral_reason="Sospecha de diabetes",
    )
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    rosa_named = {"account_id": rosa["id"], "display_name": "Rosa Martínez", "dependent_name": None}
    assert appointment["patient"] == rosa_named  # the nurse's booking answer names her

    by_doctor = await _appointments(client, doctor)
    assert by_doctor[appointment["id"]]["patient"] == rosa_named
    by_nurse = await _appointments(client, nurse)
    assert by_nurse[appointment["id"]]["patient"] == rosa_named
    one = await client.get(f"/v1/appointments/{appointment['id']}", headers=bearer(doctor))
    assert one.json()["patient"]["display_name"] == "Rosa Martínez"

    # Rosa sees her doctor by name and title, and who read her consult
    mine = (await _appointments(client, rosa_tokens))[appointment["id"]]
    assert mine["practitioner"]["id"] == profile["id"]
    assert mine["practitioner"]["display_name"].startswith("Dra. ")
    log = await _log(client, rosa_tokens)
    resource = f"appointment:{appointment['id']}"
    assert ("clinic_staff", resource) in log  # the booking, and the nurse's read
    assert ("doctor", resource) in log
    assert ("doctor", "appointments") in log and ("clinic_staff", "appointments") in log

    # a nurse of another clinic, and a stranger, get nothing; an admin no name
    for stranger in (other_nurse, (await signed_up(client))[1]):
        refused = await client.get(
            f"/v1/appointments/{appointment['id']}", headers=bearer(stranger)
        )
        assert refused.status_code == 404
        assert "Rosa" not in refused.text
        assert "Rosa" not in (await client.get("/v1/appointments", headers=bearer(stranger))).text
    as_admin = await client.get(f"/v1/appointments/{appointment['id']}", headers=bearer(admin))
    assert as_admin.status_code == 200 and as_admin.json()["patient"] is None
    assert "Rosa" not in as_admin.text

    # Rosa takes back her consent: the clinic keeps the consult, no longer her name
    withdrawn = await client.post(
        f"/v1/clinics/{place['id']}/patients/withdraw", headers=bearer(rosa_tokens)
    )
    assert withdrawn.status_code == 204
    kept = (await _appointments(client, nurse))[appointment["id"]]
    assert kept["patient"] is None
    assert (await _appointments(client, doctor))[appointment["id"]]["patient"] == rosa_named


async def test_the_doctor_sees_the_dependent_the_consult_is_for(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, doctor = await practitioner(client, admin, sessionmaker, settings)
    _, parent = await active_member(client, admin)
    me = (await client.get("/v1/me", headers=bearer(parent))).json()
    home = await household(client, parent)
    child = await client.post(
        f"/v1/households/{home['id']}/dependents",
        json={"full_name": "Sofía Pérez"},
        headers=bearer(parent),
    )
    start = (await _slots(client, parent, profile["id"]))[0]
    booked = await book(client, parent, profile["id"], start, dependent_id=child.json()["id"])
    assert booked.status_code == 201, booked.text
    assert booked.json()["patient"]["dependent_name"] == "Sofía Pérez"
    seen = (await _appointments(client, doctor))[booked.json()["id"]]["patient"]
    assert seen == {
        "account_id": me["id"],
        "display_name": me["display_name"],
        "dependent_name": "Sofía Pérez",
    }
