"""Clinic staff register patients by phone or email and learn nothing until the patient accepts."""

import re
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


async def _answer(
    client: httpx.AsyncClient, tokens: Tokens, clinic_id: str, code: str, answer: str = "accept"
) -> httpx.Response:
    return await client.post(
        f"/v1/clinics/{clinic_id}/patients/{answer}", json={"code": code}, headers=bearer(tokens)
    )


async def _patients(client: httpx.AsyncClient, nurse: Tokens, clinic_id: str) -> list[Any]:
    response = await client.get(f"/v1/clinics/{clinic_id}/patients", headers=bearer(nurse))
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def _alike(response: httpx.Response) -> tuple[Any, ...]:
    """All of the answer but its code (a new one each time, for whoever asked)."""
    body = response.json()
    code = body.pop("code")
    assert re.fullmatch(r"[0-9]{4} [0-9]{4}", code), code
    return (
        response.status_code,
        response.headers["content-type"],
        response.headers.get("content-language"),
        body,
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


async def test_the_patient_accepts_with_the_code_and_only_then_staff_see_them(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    phone = unique_phone()
    rosa, rosa_tokens = await signed_up(client, phone=phone, display_name="Rosa Martínez")
    first = (await _register(client, nurse, place["id"], phone)).json()["code"]
    respelled = "+" + phone[1:3] + " " + phone[3:]
    code = (await _register(client, nurse, place["id"], respelled)).json()["code"]
    stale = await _answer(client, rosa_tokens, place["id"], first)  # a new code replaces it
    assert stale.status_code == 422
    assert stale.json()["type"].endswith("/wrong-registration-code")
    assert await _patients(client, nurse, place["id"]) == []
    accepted = await _answer(client, rosa_tokens, place["id"], code.replace(" ", "-"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["account_id"] == rosa["id"]
    (patient,) = await _patients(client, nurse, place["id"])
    assert (patient["account_id"], patient["display_name"]) == (rosa["id"], "Rosa Martínez")
    log = (await client.get("/v1/me/access-log", headers=bearer(rosa_tokens))).json()["items"]
    assert f"clinic:{place['id']}" in {entry["resource"] for entry in log}
    again = await _answer(client, rosa_tokens, place["id"], code)
    assert again.status_code == 404  # the registration is done with

    # Rosa changes her mind: the clinic no longer sees her nor books for her
    withdrawn = await client.post(
        f"/v1/clinics/{place['id']}/patients/withdraw", headers=bearer(rosa_tokens)
    )
    assert withdrawn.status_code == 204
    assert await _patients(client, nurse, place["id"]) == []


async def test_signing_up_with_a_patients_phone_does_not_make_you_the_patient(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    """Nobody confirms that whoever signs up with a phone number owns it: with the contact alone
    an impostor accepted the clinic's registration of a patient and read what staff booked."""
    place, nurse = clinic
    phone = unique_phone()
    code = (await _register(client, nurse, place["id"], phone)).json()["code"]
    _, impostor = await signed_up(client, phone=phone, display_name="María Víctima")
    guesses = [f"{n:04d} {n:04d}" for n in range(1, 6)]
    answers = [await _answer(client, impostor, place["id"], guess) for guess in guesses]
    assert [a.status_code for a in answers] == [422] * 5
    assert await _patients(client, nurse, place["id"]) == []
    # five wrong tries end the registration: even the right code no longer opens it
    assert (await _answer(client, impostor, place["id"], code)).status_code == 404


async def test_a_registration_waits_for_someone_to_sign_up_with_the_contact(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    email = unique_email()
    answer = await _register(client, nurse, place["id"], email)
    assert answer.status_code == 202
    _, lupe = await signed_up(client, email=email.upper())
    assert (await _answer(client, lupe, place["id"], answer.json()["code"])).status_code == 200


async def test_declining_tells_the_clinic_nothing(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    email = unique_email()
    _, rosa = await signed_up(client, email=email)
    code = (await _register(client, nurse, place["id"], email)).json()["code"]
    declined = await _answer(client, rosa, place["id"], code, "decline")
    assert declined.status_code == 204
    late = await _answer(client, rosa, place["id"], code)
    assert late.status_code == 404
    assert await _patients(client, nurse, place["id"]) == []


async def test_strangers_neither_see_nor_answer_a_registration(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    phone = unique_phone()
    await sign_up(client, phone=phone)
    code = (await _register(client, nurse, place["id"], phone)).json()["code"]
    _, stranger = await signed_up(client)
    for answer in ("accept", "decline"):  # even with the code: it is not their registration
        response = await _answer(client, stranger, place["id"], code, answer)
        assert response.status_code == 404, answer
    withdrawn = await client.post(
        f"/v1/clinics/{place['id']}/patients/withdraw", headers=bearer(stranger)
    )
    assert withdrawn.status_code == 404
    # nor may anyone but the clinic's staff register or list its patients
    patient = await login(client, phone, PASSWORD)
    assert (await _register(client, patient, place["id"], phone)).status_code == 403
    listed = await client.get(f"/v1/clinics/{place['id']}/patients", headers=bearer(patient))
    assert listed.status_code == 403
    assert (await _answer(client, patient, place["id"], code)).status_code == 200


async def test_a_contact_that_is_not_one_is_refused_alike(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    place, nurse = clinic
    for wrong in ("951 100 00", "rosa@", "Rosa Martínez"):
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


async def test_the_nurse_types_the_number_as_she_hears_it(
    client: httpx.AsyncClient, clinic: tuple[dict[str, Any], Tokens]
) -> None:
    """Juana writes Rosa's number without the country code, with the old mobile 1; Rosa signed
    up with +52: it is the same number, and Rosa's acceptance joins her to the clinic."""
    place, nurse = clinic
    rosa, tokens = await signed_up(client, phone="+52 951 100 0777")
    registered = await _register(client, nurse, place["id"], "044 951 100 0777")
    assert registered.status_code == 202, registered.text
    accepted = await _answer(client, tokens, place["id"], registered.json()["code"])
    assert accepted.status_code == 200, accepted.text
    assert [p["account_id"] for p in await _patients(client, nurse, place["id"])] == [rosa["id"]]
