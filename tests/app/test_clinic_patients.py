"""The nurse finds her clinic's patients by name or phone, as people write them, to book for
them without registering them again (issue 14, item 12)."""

from typing import Any

import httpx
import pytest

from tests.factories import (
    bearer,
    clinic_staff,
    new_clinic,
    registered_with_clinic,
    signed_up,
    unique_phone,
)

Tokens = dict[str, Any]


@pytest.fixture
async def desk(client: httpx.AsyncClient, admin: Tokens) -> dict[str, Any]:
    """Clínica San Miguel, its nurse Juana, three patients who accepted, one who has not."""
    place = await new_clinic(client, admin)
    nurse = await clinic_staff(client, admin, place["id"])
    people: dict[str, Any] = {"clinic": place, "nurse": nurse}
    for key, name in (("rosa", "Rosa Martínez"), ("rosario", "Rosario Núñez"), ("juan", "Juan")):
        phone = unique_phone()
        account, tokens = await signed_up(client, phone=phone, display_name=name)
        await registered_with_clinic(client, nurse, place["id"], tokens, phone)
        people[key] = {**account, "phone": phone, "tokens": tokens}
    pending = unique_phone()
    people["pending"], _ = await signed_up(client, phone=pending, display_name="Rosa Pendiente")
    registered = await client.post(
        f"/v1/clinics/{place['id']}/patients", json={"username": pending}, headers=bearer(nurse)
    )
    assert registered.status_code == 202
    return people


async def _find(client: httpx.AsyncClient, desk: dict[str, Any], **query: Any) -> list[str]:
    response = await client.get(
        f"/v1/clinics/{desk['clinic']['id']}/patients",
        params=query,
        headers=bearer(desk["nurse"]),
    )
    assert response.status_code == 200, response.text
    return [p["display_name"] for p in response.json()["items"]]


async def test_the_nurse_finds_a_patient_by_name_without_accents_or_case(
    client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    assert await _find(client, desk) == ["Rosa Martínez", "Rosario Núñez", "Juan"]
    assert await _find(client, desk, name="martinez") == ["Rosa Martínez"]
    assert await _find(client, desk, name="ROSA") == ["Rosa Martínez", "Rosario Núñez"]
    assert await _find(client, desk, name="nunez") == ["Rosario Núñez"]
    assert await _find(client, desk, name="Núñez") == ["Rosario Núñez"]
    assert await _find(client, desk, name="martínez rosa") == ["Rosa Martínez"]
    assert await _find(client, desk, name="rosa juan") == []
    assert await _find(client, desk, name="%") == []  # a wildcard is a letter like any other
    assert await _find(client, desk, name="pendiente") == []  # not accepted: not hers yet


async def test_the_nurse_finds_a_patient_by_phone_however_it_is_written(
    client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    e164 = desk["rosa"]["phone"]  # +52951…
    national = e164[3:]
    for written in (
        e164,
        f"+52 {national[:3]} {national[3:6]} {national[6:]}",
        national,
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
        f"52 1 {national}",  # the old mobile prefix
        f"+52 1 {national}",
        f"044 {national}",
    ):
        assert await _find(client, desk, phone=written) == ["Rosa Martínez"], written
    both = await _find(client, desk, phone=national, name="rosa")
    assert both == ["Rosa Martínez"]
    assert await _find(client, desk, phone=national, name="juan") == []
    assert await _find(client, desk, phone=desk["pending"]["phone"]) == []
    # the last few digits are not a search: staff could rebuild a number digit by digit
    last_four = await client.get(
        f"/v1/clinics/{desk['clinic']['id']}/patients",
        params={"phone": national[-4:]},
        headers=bearer(desk["nurse"]),
    )
    assert last_four.status_code == 422


@pytest.mark.parametrize(
    ("language", "words"), [("es", "al menos 10 dígitos"), ("en", "at least 10 digits")]
)
async def test_a_phone_search_with_too_few_digits_says_so(
    client: httpx.AsyncClient, desk: dict[str, Any], language: str, words: str
) -> None:
    response = await client.get(
        f"/v1/clinics/{desk['clinic']['id']}/patients",
        params={"phone": "95 1"},
        headers={**bearer(desk["nurse"]), "Accept-Language": language},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/phone-search-too-short")
    assert words in response.json()["detail"]
    letters = await client.get(
        f"/v1/clinics/{desk['clinic']['id']}/patients",
        params={"phone": "rosa"},
        headers={**bearer(desk["nurse"]), "Accept-Language": language},
    )
    assert letters.status_code == 422


async def test_pages_walk_every_accepted_patient_once(
    client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"/v1/clinics/{desk['clinic']['id']}/patients",
            params=params,
            headers=bearer(desk["nurse"]),
        )
        body = response.json()
        seen += [p["account_id"] for p in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert seen == [desk[k]["id"] for k in ("rosa", "rosario", "juan")]


async def test_only_the_clinics_staff_search_and_each_find_is_in_the_patients_log(
    client: httpx.AsyncClient, admin: Tokens, desk: dict[str, Any]
) -> None:
    clinic_id = desk["clinic"]["id"]
    other = await clinic_staff(client, admin, (await new_clinic(client, admin, "Ejutla"))["id"])
    for stranger in (other, admin, desk["rosa"]["tokens"]):
        response = await client.get(
            f"/v1/clinics/{clinic_id}/patients",
            params={"name": "rosa"},
            headers=bearer(stranger),
        )
        assert response.status_code in (403, 404), response.text
        assert "Rosa" not in response.text
    before = await client.get("/v1/me/access-log", headers=bearer(desk["juan"]["tokens"]))
    assert await _find(client, desk, name="martinez") == ["Rosa Martínez"]
    log = await client.get("/v1/me/access-log", headers=bearer(desk["rosa"]["tokens"]))
    assert ("clinic_staff", f"clinic:{clinic_id}") in {
        (e["accessor_role"], e["resource"]) for e in log.json()["items"]
    }
    after = await client.get("/v1/me/access-log", headers=bearer(desk["juan"]["tokens"]))
    assert after.json()["items"] == before.json()["items"]  # not found, not read
