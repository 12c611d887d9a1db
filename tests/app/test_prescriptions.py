"""Prescriptions through the API: the treating doctor issues one with every field the Reglamento
de Insumos para la Salud asks for; controlled substances are refused; the print view and the PDF
carry the verification code and the QR code; a pharmacy verifies without an account and sees
nothing of the patient; the doctor revokes; only the patient and the doctor see it."""

import io
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import segno
from pypdf import PdfReader
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock
from telehealth.prescriptions.models import Prescription
from tests.factories import bearer, practitioner, signed_up
from tests.prescription_support import (
    AMOXICILLIN,
    INDICATIONS,
    PARACETAMOL,
    PATIENT_NAME,
    PATIENT_PHONE,
    consult_now,
    issued,
    move_consult,
    prescribe,
)

ES = {"Accept-Language": "es-MX"}
EN = {"Accept-Language": "en"}
CODE = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
async def consult(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, Any]:
    return await consult_now(client, sessionmaker, settings)


async def test_the_treating_doctor_issues_it_with_every_field_the_law_asks(
    client: httpx.AsyncClient, consult: dict[str, Any], settings: Settings
) -> None:
    prescription = await issued(client, consult)
    assert prescription["status"] == "valid"
    assert prescription["prescriber"] == {
        "name": consult["doctor_name"],
        "cedula": "12345678",
        "specialty": "Medicina interna",
        "specialty_cedula": "7654321",
    }
    assert prescription["institution"] == {
        "name": settings.cooperative_name,
        "address": settings.cooperative_address,
    }
    assert prescription["issued_on"] == clock.today().isoformat()
    assert prescription["issued_at"].endswith("-06:00")  # the cooperative's zone, with offset
    assert prescription["patient_name"] == PATIENT_NAME
    assert prescription["language"] == "es"
    assert prescription["lines"][0] == AMOXICILLIN
    assert prescription["indications"] == INDICATIONS
    assert CODE.match(prescription["verification_code"]), prescription["verification_code"]
    assert prescription["verification_url"] == (
        f"{settings.public_url}/v1/prescriptions/verify/{prescription['verification_code']}"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", prescription["digest"])
    assert prescription["verification_count"] == 0
    again = await issued(client, consult)  # a second one gets its own code
    assert again["verification_code"] != prescription["verification_code"]


@pytest.mark.parametrize(
    "field",
    [
        "generic_name",
        "presentation",
        "dose",
        "route",
        "frequency",
        "duration",
        "quantity",
        "instructions",
    ],
)
async def test_every_drug_field_is_required(
    client: httpx.AsyncClient, consult: dict[str, Any], field: str
) -> None:
    missing = {k: v for k, v in AMOXICILLIN.items() if k != field}
    response = await client.post(
        f"/v1/appointments/{consult['id']}/prescriptions",
        json={"lines": [missing]},
        headers={**bearer(consult["doctor"]), **ES},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["content-language"] == "es"
    assert field in response.text
    blank = await prescribe(client, consult, lines=[{**AMOXICILLIN, field: "   "}])
    assert blank.status_code == 422, blank.text


async def test_a_prescription_without_medicines_is_refused(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    for lines in ([], [AMOXICILLIN] * 11):
        response = await prescribe(client, consult, lines=lines)
        assert response.status_code == 422, response.text
    listed = await client.get("/v1/prescriptions", headers=bearer(consult["patient"]))
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("generic_name", "presentation", "named", "fraction"),
    [
        ("Clorhidrato de morfina", "Solución inyectable 10 mg/ml", "morfina", "I"),
        ("MORPHINE SULFATE", "Tablets 15 mg", "morfina", "I"),
        ("Paracetamol/Codeína", "Tabletas 500 mg/30 mg", "codeína", "I"),
        ("Fentanyl citrate", "Patch 25 mcg/h", "fentanilo", "I"),
        ("Metilfenidato", "Tabletas de 10 mg", "metilfenidato", "II"),
        ("clonazepám", "Gotas 2.5 mg/ml", "clonazepam", "III"),
        ("Diacepam", "Tabletas de 10 mg", "diazepam", "III"),
        ("Alprazolam", "Tabletas de 0.25 mg", "alprazolam", "III"),
        ("Paracetamol", "Tabletas con tramadol y oxicodona", "oxicodona", "I"),
    ],
)
async def test_controlled_substances_are_refused_naming_the_drug_and_the_rule(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    generic_name: str,
    presentation: str,
    named: str,
    fraction: str,
) -> None:
    lines = [
        AMOXICILLIN,
        {**AMOXICILLIN, "generic_name": generic_name, "presentation": presentation},
    ]
    response = await client.post(
        f"/v1/appointments/{consult['id']}/prescriptions",
        json={"lines": lines},
        headers={**bearer(consult["doctor"]), **ES},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/controlled-substance")
    assert (problem["line"], problem["substance"], problem["fraction"]) == (2, named, fraction)
    assert named in problem["detail"] and "226" in problem["detail"]
    assert f"fracción {fraction}" in problem["detail"]
    in_english = await client.post(
        f"/v1/appointments/{consult['id']}/prescriptions",
        json={"lines": lines},
        headers={**bearer(consult["doctor"]), **EN},
    )
    assert "telemedicine consult cannot issue" in in_english.json()["detail"]
    assert f"fraction {fraction}" in in_english.json()["detail"]
    listed = await client.get("/v1/prescriptions", headers=bearer(consult["doctor"]))
    assert listed.json()["items"] == []  # nothing was issued


async def test_only_the_treating_doctor_prescribes(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    _, other_doctor = await practitioner(client, consult["admin"], sessionmaker, settings)
    _, stranger = await signed_up(client)
    assert (await prescribe(client, consult, who="patient")).status_code == 403
    for tokens in (other_doctor, stranger, consult["admin"]):
        response = await client.post(
            f"/v1/appointments/{consult['id']}/prescriptions",
            json={"lines": [AMOXICILLIN]},
            headers=bearer(tokens),
        )
        assert response.status_code in (403, 404), response.text
    nowhere = await client.post(
        "/v1/appointments/00000000-0000-4000-8000-000000000000/prescriptions",
        json={"lines": [AMOXICILLIN]},
        headers=bearer(consult["doctor"]),
    )
    assert nowhere.status_code == 404


@pytest.mark.parametrize(
    ("starts_in", "status", "reason"),
    [
        (timedelta(hours=3), None, "not-yet"),
        (timedelta(minutes=-5), "cancelled", "not-a-consult"),
        (timedelta(minutes=-5), "noshow", "not-a-consult"),
        (timedelta(hours=-5), None, "not-recorded"),
        (timedelta(days=-8), "fulfilled", "too-late"),
    ],
)
async def test_a_consult_carries_one_only_while_or_after_it_takes_place(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    starts_in: timedelta,
    status: str | None,
    reason: str,
) -> None:
    await move_consult(sessionmaker, consult["id"], starts_in=starts_in, status=status)
    response = await client.post(
        f"/v1/appointments/{consult['id']}/prescriptions",
        json={"lines": [AMOXICILLIN]},
        headers={**bearer(consult["doctor"]), **ES},
    )
    assert response.status_code == 409, response.text
    assert response.json()["reason"] == reason
    assert response.json()["type"].endswith("/consult-not-prescribable")
    await move_consult(
        sessionmaker, consult["id"], starts_in=timedelta(days=-6), status="fulfilled"
    )
    assert (await prescribe(client, consult)).status_code == 201  # within a week of the end


async def test_a_doctor_without_a_cedula_in_force_cannot_prescribe(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    consult = await consult_now(client, sessionmaker, settings, specialty_cedula=None)
    async with sessionmaker() as session:
        await session.execute(text("UPDATE licence SET expires_on = '2000-01-01'"))
        await session.commit()
    response = await prescribe(client, consult)
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/no-cedula")


async def test_the_print_view_has_every_field_the_code_and_a_qr_code_of_the_address(
    client: httpx.AsyncClient, consult: dict[str, Any], settings: Settings
) -> None:
    prescription = await issued(client, consult)
    response = await client.get(
        f"/v1/prescriptions/{prescription['id']}/print", headers=bearer(consult["patient"])
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    for shown in (
        prescription["verification_code"],
        PATIENT_NAME,
        consult["doctor_name"],
        "Cédula profesional: 12345678",
        "Cédula de especialidad: 7654321",
        settings.cooperative_name,
        settings.cooperative_address.replace("í", "í"),
        "Receta médica",
        *AMOXICILLIN.values(),
        prescription["digest"],
        prescription["verification_url"],
    ):
        assert _html(shown) in page, shown
    # the QR code is segno's encoding of the verification address, nothing else
    qr = segno.make_qr(prescription["verification_url"], error="m")
    assert qr.svg_inline(omitsize=True, svgclass="qr") in page
    assert "@page" in page and "@media print" in page


def _html(value: str) -> str:
    from html import escape

    return escape(value)


async def test_the_pdf_parses_and_carries_every_field(
    client: httpx.AsyncClient, consult: dict[str, Any], settings: Settings
) -> None:
    prescription = await issued(client, consult)
    for paper, width in (("letter", 612), ("a4", 595)):
        response = await client.get(
            f"/v1/prescriptions/{prescription['id']}/pdf",
            params={"paper": paper},
            headers=bearer(consult["doctor"]),
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(response.content))
        assert len(reader.pages) == 1  # one sheet
        assert round(float(reader.pages[0].mediabox.width)) == width
        words = " ".join(reader.pages[0].extract_text().split())
        for shown in (
            prescription["verification_code"],
            PATIENT_NAME,
            consult["doctor_name"],
            "12345678",
            "7654321",
            settings.cooperative_name,
            "Amoxicilina - Cápsulas de 500 mg",
            "Cada 8 horas",
            "7 días",
            "21 cápsulas (1 caja)",
            "Oral",
            prescription["digest"],
        ):
            assert shown in words, (shown, words)
    ten = await issued(client, consult, lines=[AMOXICILLIN, PARACETAMOL] * 5)
    for paper in ("letter", "a4"):  # the most a prescription holds still fits one sheet
        response = await client.get(
            f"/v1/prescriptions/{ten['id']}/pdf",
            params={"paper": paper},
            headers=bearer(consult["patient"]),
        )
        assert len(PdfReader(io.BytesIO(response.content)).pages) == 1, paper
    bad = await client.get(
        f"/v1/prescriptions/{prescription['id']}/pdf",
        params={"paper": "papiro"},
        headers=bearer(consult["doctor"]),
    )
    assert bad.status_code == 422


async def test_a_pharmacy_verifies_without_an_account_and_sees_nothing_of_the_patient(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    prescription = await issued(client, consult)
    code = prescription["verification_code"]
    private = [
        PATIENT_NAME,
        "Rosa",
        consult["patient_account"]["id"],
        consult["patient_account"]["email"],
        PATIENT_PHONE,
        consult["patient_account"]["phone"],
        consult["id"],  # the appointment
        prescription["id"],
        "fiebre y tos",  # the reason for the consult
        INDICATIONS,
        "Matías",
    ]
    spellings = [code, code.lower(), code.replace("-", ""), code.replace("-", " ")]
    for number, spelling in enumerate(spellings, start=1):
        response = await client.get(f"/v1/prescriptions/verify/{spelling}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["valid"] is True and body["status"] == "valid"
        assert body["prescriber"]["name"] == consult["doctor_name"]
        assert body["prescriber"]["cedula"] == "12345678"
        assert body["issued_on"] == prescription["issued_on"]
        assert body["lines"] == prescription["lines"]
        assert body["verification_count"] == number
        raw = response.text + json.dumps(body, ensure_ascii=False)
        assert not [p for p in private if p and p in raw]
    page = await client.get(
        f"/v1/prescriptions/verify/{code}", headers={"Accept": "text/html", **ES}
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "VÁLIDA" in page.text and "Amoxicilina" in page.text
    assert not [p for p in private if p and p in page.text]
    mine = await client.get(
        f"/v1/prescriptions/{prescription['id']}", headers=bearer(consult["patient"])
    )
    assert mine.json()["verification_count"] == len(spellings) + 1
    assert mine.json()["last_verified_at"] is not None


async def test_an_unknown_or_malformed_code_is_simply_not_found(client: httpx.AsyncClient) -> None:
    for code in ("0000-0000-0000-0000-0000-0000-0000", "hola", "'; DROP TABLE prescription;--"):
        response = await client.get(f"/v1/prescriptions/verify/{code}")
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    page = await client.get(
        "/v1/prescriptions/verify/0000-0000", headers={"Accept": "text/html", **EN}
    )
    assert page.status_code == 404 and "No prescription has this code" in page.text


async def test_the_doctor_revokes_and_verification_says_so(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    prescription = await issued(client, consult)
    url = f"/v1/prescriptions/{prescription['id']}/revoke"
    reason = {"reason": "Dosis equivocada; se emitió una receta nueva."}
    assert (
        await client.post(url, json=reason, headers=bearer(consult["patient"]))
    ).status_code == 403
    _, other_doctor = await practitioner(client, consult["admin"], sessionmaker, settings)
    assert (await client.post(url, json=reason, headers=bearer(other_doctor))).status_code == 404
    assert (await client.post(url, json={}, headers=bearer(consult["doctor"]))).status_code == 422
    revoked = await client.post(url, json=reason, headers=bearer(consult["doctor"]))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revocation_reason"] == reason["reason"]
    again = await client.post(url, json=reason, headers={**bearer(consult["doctor"]), **ES})
    assert again.status_code == 409 and "se revocó" in again.json()["detail"]
    verified = await client.get(f"/v1/prescriptions/verify/{prescription['verification_code']}")
    assert verified.json()["valid"] is False and verified.json()["status"] == "revoked"
    assert verified.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert reason["reason"] not in verified.text  # the reason is the patient's business
    page = await client.get(
        f"/v1/prescriptions/verify/{prescription['verification_code']}",
        headers={"Accept": "text/html", **EN},
    )
    assert "REVOKED" in page.text and "Revoked by the doctor on" in page.text
    printed = await client.get(
        f"/v1/prescriptions/{prescription['id']}/print", headers=bearer(consult["patient"])
    )
    assert "REVOCADA" in printed.text


async def test_only_the_patient_and_the_treating_doctor_see_it_and_the_doctors_reads_are_logged(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    prescription = await issued(client, consult)
    one = f"/v1/prescriptions/{prescription['id']}"
    for who in ("patient", "doctor"):
        listed = await client.get("/v1/prescriptions", headers=bearer(consult[who]))
        assert [p["id"] for p in listed.json()["items"]] == [prescription["id"]]
        assert listed.json()["items"][0]["drugs"] == ["Amoxicilina", "Paracetamol"]
        for path in (one, f"{one}/print", f"{one}/pdf"):
            assert (await client.get(path, headers=bearer(consult[who]))).status_code == 200
    _, other_doctor = await practitioner(client, consult["admin"], sessionmaker, settings)
    _, stranger = await signed_up(client)
    for tokens in (other_doctor, stranger, consult["admin"]):
        for path in (one, f"{one}/print", f"{one}/pdf"):
            response = await client.get(path, headers=bearer(tokens))
            assert response.status_code == 404, (path, response.text)
        listed = await client.get("/v1/prescriptions", headers=bearer(tokens))
        assert listed.json()["items"] == []
    log = await client.get("/v1/me/access-log", headers=bearer(consult["patient"]))
    resources = {entry["resource"] for entry in log.json()["items"]}
    assert f"prescription:{prescription['id']}" in resources
    assert "prescriptions" in resources  # the doctor's list


async def test_an_admin_reads_one_only_with_a_documented_reason_which_the_log_keeps(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    """Nobody else sees a prescription, admins included, unless the admin gives a reason: the
    read is then in the patient's access log with it. A doctor's reason opens nothing."""
    prescription = await issued(client, consult)
    one = f"/v1/prescriptions/{prescription['id']}"
    admin = bearer(consult["admin"])
    for query in ({}, {"reason": "   "}):
        refused = await client.get(one, params=query, headers=admin)
        assert refused.status_code in (404, 422), refused.text
        assert prescription["id"] not in refused.text.replace(one, "")
    _, stranger = await signed_up(client)
    reason = {"reason": "queja CONAMED 2026-114"}
    assert (await client.get(one, params=reason, headers=bearer(stranger))).status_code == 404
    read = await client.get(one, params=reason, headers=admin)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == prescription["id"]
    log = await client.get("/v1/me/access-log", headers=bearer(consult["patient"]))
    admin_id = (await client.get("/v1/me", headers=admin)).json()["id"]
    reads = [
        (entry["accessor_role"], entry["reason"])
        for entry in log.json()["items"]
        if entry["accessor_account_id"] == admin_id
    ]
    assert reads == [("admin", "queja CONAMED 2026-114")]


async def test_a_dependents_prescription_names_the_child_and_the_responsible_member_sees_it(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    consult = await consult_now(client, sessionmaker, settings, dependent="Xóchitl Matías Cruz")
    prescription = await issued(client, consult)
    assert prescription["patient_name"] == "Xóchitl Matías Cruz"
    listed = await client.get("/v1/prescriptions", headers=bearer(consult["patient"]))
    assert [p["patient_name"] for p in listed.json()["items"]] == ["Xóchitl Matías Cruz"]
    printed = await client.get(
        f"/v1/prescriptions/{prescription['id']}/print", headers=bearer(consult["patient"])
    )
    assert "Xóchitl Matías Cruz" in printed.text


async def test_prescriptions_are_listed_newest_first_a_page_at_a_time(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    made = [(await issued(client, consult))["id"] for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(
            "/v1/prescriptions", params=params, headers=bearer(consult["patient"])
        )
        assert page.status_code == 200, page.text
        seen += [p["id"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]


async def test_the_patients_language_sets_the_print_views_words(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    consult = await consult_now(client, sessionmaker, settings, language="en")
    prescription = await issued(
        client, consult, lines=[{**AMOXICILLIN, "instructions": "Take one every 8 hours."}]
    )
    assert prescription["language"] == "en"
    printed = await client.get(
        f"/v1/prescriptions/{prescription['id']}/print", headers=bearer(consult["patient"])
    )
    assert '<html lang="en">' in printed.text
    assert "Prescription" in printed.text and "Verification code" in printed.text
    assert "Take one every 8 hours." in printed.text


async def test_the_database_refuses_to_change_an_issued_prescription(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    prescription = await issued(client, consult)
    this = col(Prescription.id) == uuid.UUID(prescription["id"])
    changes = (
        update(Prescription).where(this).values(patient_name="Otra persona"),
        update(Prescription).where(this).values(lines=[]),
        update(Prescription).where(this).values(prescriber_cedula="1"),
        update(Prescription).where(this).values(verification_count=0),
        delete(Prescription).where(this),
    )
    async with sessionmaker() as session:  # counting verifications is allowed
        await session.execute(update(Prescription).where(this).values(verification_count=5))
        await session.commit()
    for change in changes:
        async with sessionmaker() as session:
            with pytest.raises(DBAPIError, match="immutable"):
                await session.execute(change.execution_options(synchronize_session=False))
            await session.rollback()
    revoked = await client.post(
        f"/v1/prescriptions/{prescription['id']}/revoke",
        json={"reason": "error de dosis"},
        headers=bearer(consult["doctor"]),
    )
    assert revoked.status_code == 200
    async with sessionmaker() as session:  # a revocation is not undone
        with pytest.raises(DBAPIError, match="immutable"):
            await session.execute(update(Prescription).where(this).values(revoked_at=None))
        await session.rollback()


async def test_the_arco_export_holds_the_patients_prescriptions(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    prescription = await issued(client, consult)
    exported = await client.get("/v1/me/export", headers=bearer(consult["patient"]))
    assert exported.status_code == 200, exported.text
    [held] = exported.json()["prescriptions"]
    assert held["id"] == prescription["id"]
    assert held["lines"] == prescription["lines"]
    doctors = await client.get("/v1/me/export", headers=bearer(consult["doctor"]))
    assert doctors.json()["prescriptions"] == []  # what a doctor issued is not their data
