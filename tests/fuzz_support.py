"""A cooperative for the schema fuzzer to walk through: seeded through a real server's API (and the
CLI, for the first admin), with the four kinds of caller the fuzzer signs in as."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.db import create_engine, create_sessionmaker
from cooperative.kernel import clock
from telehealth.scheduling.models import Appointment
from tests.conftest import make_settings
from tests.factories import (
    PASSWORD,
    active_member,
    attest,
    bearer,
    book,
    household,
    login,
    open_slots,
    practitioner,
    staff_of_clinic,
)

ADMIN_EMAIL = "admin.fuzz@example.org"


@dataclass
class Seeded:
    """Who the fuzzer is (their access tokens) and the ids it fills path parameters with."""

    tokens: dict[str, str]
    ids: dict[str, str]


async def _ok(response: Any, *codes: int) -> dict[str, Any]:
    answered: httpx.Response = await response
    assert answered.status_code in (codes or (200, 201)), answered.text
    data: dict[str, Any] = answered.json() if answered.content else {}
    return data


async def seed(http: httpx.AsyncClient, database_url: str) -> Seeded:
    """Through the running server: the bylaws, a patient-owner with a household, a doctor whose
    consult with that patient is open now, a clinic with staff who registered the patient. The
    doctor's and the staff's roles are given in the database (no endpoint grants roles)."""
    admin = await login(http, ADMIN_EMAIL)
    await _ok(http.post("/v1/bylaws/versions", json={}, headers=bearer(admin)))
    member, patient = await active_member(http, admin, full_name="Rosa Martínez López")
    home = await household(http, patient)
    await attest(http, patient, home["id"], income_minor=500_000, household_size=3)
    me = await _ok(http.get("/v1/me", headers=bearer(patient)))
    clinic = await _ok(
        http.post(
            "/v1/clinics",
            json={
                "name": "Clínica San Miguel",
                "jurisdiction": "MX-OAX",
                "municipality": "San Miguel Tlacotepec",
                "rural": True,
                "timezone": "America/Mexico_City",
            },
            headers=bearer(admin),
        )
    )

    settings = make_settings(database_url)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    try:
        profile, doctor = await practitioner(http, admin, sessions, settings)
        staff = await login(http, await staff_of_clinic(sessions, settings, clinic["id"]))
        slots = await open_slots(
            http, patient, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
        )
        booked = await _ok(book(http, patient, profile["id"], slots[0]["start"]))
        async with sessions() as session:  # its day has come: the room is open
            start = clock.now() + timedelta(minutes=5)
            await session.execute(
                update(Appointment)
                .where(col(Appointment.id) == uuid.UUID(booked["id"]))
                .values(start=start, end=start + timedelta(minutes=30))
            )
            await session.commit()
    finally:
        await engine.dispose()
    await _ok(http.post(f"/v1/appointments/{booked['id']}/consult/join", headers=bearer(doctor)))
    await _ok(
        http.post(
            f"/v1/clinics/{clinic['id']}/patients",
            json={"username": me["email"]},
            headers=bearer(staff),
        )
    )
    await _ok(http.post(f"/v1/clinics/{clinic['id']}/patients/accept", headers=bearer(patient)))
    proposal = await _ok(
        http.post(
            "/v1/proposals",
            json={"kind": "resolution", "title": "Abrir una clínica", "body": "¿Sí o no?"},
            headers=bearer(admin),
        )
    )
    return Seeded(
        tokens={
            who: tokens["access_token"]
            for who, tokens in (
                ("patient", patient),
                ("doctor", doctor),
                ("clinic_staff", staff),
                ("admin", admin),
            )
        },
        ids={
            "household_id": home["id"],
            "member_id": member["id"],
            "appointment_id": booked["id"],
            "practitioner_id": profile["id"],
            "clinic_id": clinic["id"],
            "proposal_id": proposal["id"],
        },
    )


__all__ = ["ADMIN_EMAIL", "PASSWORD", "Seeded", "seed"]
