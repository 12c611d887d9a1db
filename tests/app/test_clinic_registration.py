"""Clinic staff register patients by phone or email and learn nothing until the patient accepts."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import (
    PASSWORD,
    bearer,
    clinic_staff,
    login,
    new_clinic,
    sign_up,
    signed_up,
    unique_email,
    unique_phone,
)

Tokens = dict[str, Any]


@pytest.fixture
async def clinic(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> tuple[dict[str, Any], Tokens]:
    """A rural clinic and one of its nurses, signed in."""
    made = await new_clinic(client, admin)
    return made, await clinic_staff(client, admin, made["id"])


async def _register(
    client: httpx.AsyncClient, nurse: Tokens, clinic_id: str, username: str
) -> httpx.Response:
    return await client.post(
        f"/v1/clinics/{clinic_id}/patients",
        json={"username": username},
        headers={**bearer(nurse), "Accept-Language": "es"},
    )


async def _requests(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    response = await client.get("/v1/clinics/registrations", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _patients(client: httpx.AsyncClient, nurse: Tokens, clinic_id: str) -> list[Any]:
    response = await client.get(f"/v1/clinics/{clinic_id}/patients", headers=bearer(nurse))
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def _alike(response: httpx.Response) -> tuple[Any, ...]:
    return (
        response.status_code,
        response.headers["content-type"],
        response.headers.get("content-language"),
        response.json(),
    )


async def test_staff_get_the_same_answer_whether_or_not_someone_has_the_contact(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    phone, email = unique_phone(), unique_email()
    rosa, _ = await signed_up(client, phone=phone, email=email, display_name="Rosa Secreta")
    answers = [
        await _register(client, nurse, place["id"], contact)
        for contact in (phone, unique_phone(), email.upper(), unique_email())
    ]
    assert answers[0].status_code == 202
    assert answers[0].json()["status"] == "pending"
    assert all(_alike(answer) == _alike(answers[0]) for answer in answers)
    for answer in answers:
        assert rosa["id"] not in answer.text and "Rosa" not in answer.text
    # and staff see nobody until someone accepts
    patients = await client.get(f"/v1/clinics/{place['id']}/patients", headers=bearer(nurse))
    assert patients.json()["items"] == []
    assert rosa["id"] not in patients.text


async def test_the_patient_accepts_and_only_then_staff_see_them(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    phone = unique_phone()
    rosa, rosa_tokens = await signed_up(client, phone=phone, display_name="Rosa Martínez")
    await _register(client, nurse, place["id"], phone)
    await _register(client, nurse, place["id"], "+" + phone[1:3] + " " + phone[3:])  # respelled

    (request,) = await _requests(client, rosa_tokens)
    assert (request["clinic_id"], request["clinic_name"]) == (place["id"], "Clínica San Miguel")
    accepted = await client.post(
        f"/v1/clinics/{place['id']}/patients/accept", headers=bearer(rosa_tokens)
    )
    assert accepted.status_code == 200
    assert accepted.json()["account_id"] == rosa["id"]
    assert await _requests(client, rosa_tokens) == []
    (patient,) = await _patients(client, nurse, place["id"])
    assert (patient["account_id"], patient["display_name"]) == (rosa["id"], "Rosa Martínez")
    log = (await client.get("/v1/me/access-log", headers=bearer(rosa_tokens))).json()["items"]
    assert f"clinic:{place['id']}" in {entry["resource"] for entry in log}


async def test_a_registration_waits_for_someone_to_sign_up_with_the_contact(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    email = unique_email()
    assert (await _register(client, nurse, place["id"], email)).status_code == 202
    _, lupe = await signed_up(client, email=email.upper())
    (request,) = await _requests(client, lupe)
    assert request["clinic_name"] == "Clínica San Miguel"


async def test_declining_tells_the_clinic_nothing(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    email = unique_email()
    _, rosa = await signed_up(client, email=email)
    await _register(client, nurse, place["id"], email)
    declined = await client.post(
        f"/v1/clinics/{place['id']}/patients/decline", headers=bearer(rosa)
    )
    assert declined.status_code == 204
    assert await _requests(client, rosa) == []
    late = await client.post(f"/v1/clinics/{place['id']}/patients/accept", headers=bearer(rosa))
    assert late.status_code == 404
    assert await _patients(client, nurse, place["id"]) == []


async def test_strangers_neither_see_nor_answer_a_registration(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    phone = unique_phone()
    await sign_up(client, phone=phone)
    await _register(client, nurse, place["id"], phone)
    _, stranger = await signed_up(client)
    assert await _requests(client, stranger) == []
    for answer in ("accept", "decline"):
        response = await client.post(
            f"/v1/clinics/{place['id']}/patients/{answer}", headers=bearer(stranger)
        )
        assert response.status_code == 404, answer
    # nor may anyone but the clinic's staff register or list its patients
    patient = await login(client, phone, PASSWORD)
    assert (await _register(client, patient, place["id"], phone)).status_code == 403
    listed = await client.get(f"/v1/clinics/{place['id']}/patients", headers=bearer(patient))
    assert listed.status_code == 403


async def test_a_contact_that_is_not_one_is_refused_alike(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    for wrong in ("951 100 0002", "rosa@", "Rosa Martínez"):
        response = await _register(client, nurse, place["id"], wrong)
        assert response.status_code == 422, wrong


async def test_staff_registering_many_patients_at_once_are_slowed(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    free = Settings.model_fields["clinic_registration_free_attempts"].default
    with clock.travel(clock.now(), frozen=True):
        answers = [
            await _register(client, nurse, place["id"], unique_phone()) for _ in range(free + 5)
        ]
    statuses = [a.status_code for a in answers]
    assert statuses == [202] * free + [429] * 5
    assert answers[-1].json()["type"].endswith("/too-many-registrations")
    assert int(answers[-1].headers["retry-after"]) >= 1
