"""Shared by the clinical record's tests: a consult under way and a complete note for it."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from telehealth.scheduling.models import Appointment
from tests.conftest import Database, make_settings
from tests.consult_support import consult_soon
from tests.factories import (
    account_with_role,
    bearer,
    book,
    login,
    open_slots,
    practitioner,
    signed_up,
)

COMPLETE: dict[str, Any] = {
    "content": {
        "subjective": {
            "reason": "Control de presión arterial",
            "current_illness": "Cefalea occipital por las mañanas desde hace dos semanas.",
        },
        "objective": {
            "findings": "Consciente, orientada, sin edema.",
            "vital_signs": {
                "systolic_mmhg": 148,
                "diastolic_mmhg": 92,
                "heart_rate_bpm": 78,
                "temperature_c": 36.5,
                "spo2_pct": 97,
                "measured_by": "Enf. Lucía, Clínica San Miguel",
            },
        },
        "assessment": {
            "diagnoses": [{"code": "i10", "note": "fuera de meta"}],
            "impression": "Hipertensión no controlada.",
        },
        "plan": {
            "treatment": "Losartán 50 mg cada 24 horas.",
            "indications": "Dieta baja en sal; caminar 30 minutos al día.",
            "follow_up": "Control en 4 semanas con registro de presión.",
        },
    },
    "summary": {
        "language": "es",
        "found": "Su presión está más alta de lo que debe.",
        "to_do": "Tome losartán una vez al día y coma con poca sal.",
        "come_back": "En cuatro semanas, con sus mediciones de presión.",
    },
}


async def consult_under_way(http: httpx.AsyncClient, database: Database) -> dict[str, Any]:
    """A consult that started ten minutes ago, as `consult_soon` gives it."""
    return await consult_soon(http, database, starts_in=timedelta(minutes=-10))


async def another_consult(http: httpx.AsyncClient, database: Database) -> dict[str, Any]:
    """One more consult under way, of another doctor and patient (the bylaws installed)."""
    committed = create_sessionmaker(database.engine)
    settings = make_settings(database.url)
    admin = await login(http, await account_with_role(committed, settings, Role.ADMIN))
    profile, doctor = await practitioner(http, admin, committed, settings)
    _, patient = await signed_up(http)
    slots = await open_slots(
        http, patient, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    booked = (await book(http, patient, profile["id"], slots[0]["start"])).json()
    async with committed() as session:
        start = clock.now() - timedelta(minutes=10)
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(booked["id"]))
            .values(start=start, end=start + timedelta(minutes=30))
        )
        await session.commit()
    return {"id": booked["id"], "doctor": doctor, "patient": patient}


def note_path(consult: dict[str, Any]) -> str:
    return f"/v1/appointments/{consult['id']}/note"


async def save(
    http: httpx.AsyncClient, consult: dict[str, Any], version: int, body: dict[str, Any]
) -> httpx.Response:
    return await http.put(
        note_path(consult), json={"version": version, **body}, headers=bearer(consult["doctor"])
    )


async def signed_note(http: httpx.AsyncClient, consult: dict[str, Any]) -> dict[str, Any]:
    """The complete note saved and signed by the consult's doctor."""
    saved = await save(http, consult, 0, COMPLETE)
    assert saved.status_code == 200, saved.text
    signed = await http.post(
        f"{note_path(consult)}/sign",
        json={"version": saved.json()["version"]},
        headers=bearer(consult["doctor"]),
    )
    assert signed.status_code == 200, signed.text
    note: dict[str, Any] = signed.json()
    return note
