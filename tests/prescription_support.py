"""Shared by the prescription tests: a consult taking place now, a prescription for it."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock
from telehealth.scheduling.models import Appointment
from tests.factories import (
    admin_tokens,
    apply,
    bearer,
    book,
    decide,
    household,
    install_bylaws,
    open_slots,
    practitioner,
    signed_up,
)

PATIENT_NAME = "Rosa Itzel Matías Cruz"
PATIENT_PHONE = "+52 951 555 0177"

AMOXICILLIN = {
    "generic_name": "Amoxicilina",
    "presentation": "Cápsulas de 500 mg",
    "dose": "1 cápsula",
    "route": "Oral",
    "frequency": "Cada 8 horas",
    "duration": "7 días",
    "quantity": "21 cápsulas (1 caja)",
    "instructions": "Tome una cápsula cada 8 horas con alimentos durante 7 días.",
}
PARACETAMOL = {
    "generic_name": "Paracetamol",
    "presentation": "Tabletas de 500 mg",
    "dose": "1 tableta",
    "route": "Oral",
    "frequency": "Cada 6 horas si hay fiebre",
    "duration": "3 días",
    "quantity": "10 tabletas",
    "instructions": "Tome una tableta si la temperatura pasa de 38 °C; no más de 4 al día.",
}
INDICATIONS = "Tome abundantes líquidos. Regrese si la fiebre dura más de 3 días."


async def move_consult(
    sessionmaker: async_sessionmaker[AsyncSession],
    appointment_id: str,
    *,
    starts_in: timedelta,
    status: str | None = None,
) -> None:
    """The consult's day comes (or went): it starts `starts_in` from now, 30 minutes long."""
    start = clock.now() + starts_in
    values: dict[str, Any] = {"start": start, "end": start + timedelta(minutes=30)}
    if status is not None:
        values["status"] = status
    async with sessionmaker() as session:
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(appointment_id))
            .values(**values)
        )
        await session.commit()


async def consult_now(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    language: str = "es",
    specialty_cedula: str | None = "7654321",
    starts_in: timedelta = timedelta(minutes=-5),
    dependent: str | None = None,
) -> dict[str, Any]:
    """A consult taking place now (its room open) between a doctor with an MX licence (and a
    specialty cédula) and a patient-owner, Rosa; with their tokens and an admin's."""
    await install_bylaws(sessionmaker)
    admin = await admin_tokens(http, sessionmaker, settings)
    profile, doctor = await practitioner(
        http, admin, sessionmaker, settings, licences=(), specialties=("internal_medicine",)
    )
    licence: dict[str, Any] = {
        "jurisdiction": "MX",
        "number": "12345678",
        "expires_on": "2035-12-31",
    }
    if specialty_cedula:
        licence["specialty_cedula"] = specialty_cedula
    added = await http.post(
        f"/v1/practitioners/{profile['id']}/licences", json=licence, headers=bearer(admin)
    )
    assert added.status_code == 201, added.text
    patient_account, patient = await signed_up(
        http, display_name="Rosa", phone=PATIENT_PHONE, preferred_language=language
    )
    member = await apply(http, patient, full_name=PATIENT_NAME)
    fields: dict[str, Any] = {}
    if dependent is not None:  # Rosa books for her daughter, a dependent of her household
        assert (await decide(http, admin, member["id"])).status_code == 200
        home = await household(http, patient)
        child = await http.post(
            f"/v1/households/{home['id']}/dependents",
            json={"full_name": dependent},
            headers=bearer(patient),
        )
        assert child.status_code == 201, child.text
        fields["dependent_id"] = child.json()["id"]
    slots = await open_slots(
        http, patient, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    slot = next(s for s in slots if s["practitioner_id"] == profile["id"])
    booked = await book(
        http, patient, profile["id"], slot["start"], reason="fiebre y tos", **fields
    )
    assert booked.status_code == 201, booked.text
    await move_consult(sessionmaker, booked.json()["id"], starts_in=starts_in)
    return {
        "id": booked.json()["id"],
        "doctor": doctor,
        "doctor_name": profile["display_name"],
        "practitioner_id": profile["id"],
        "patient": patient,
        "patient_account": patient_account,
        "admin": admin,
    }


async def prescribe(
    http: httpx.AsyncClient,
    consult: dict[str, Any],
    *,
    lines: list[dict[str, Any]] | None = None,
    who: str = "doctor",
    **fields: Any,
) -> httpx.Response:
    body = {"lines": lines if lines is not None else [AMOXICILLIN, PARACETAMOL], **fields}
    return await http.post(
        f"/v1/appointments/{consult['id']}/prescriptions", json=body, headers=bearer(consult[who])
    )


async def issued(http: httpx.AsyncClient, consult: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = await prescribe(http, consult, indications=INDICATIONS, **fields)
    assert response.status_code == 201, response.text
    prescription: dict[str, Any] = response.json()
    return prescription
