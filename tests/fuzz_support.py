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
    OUTBOXES,
    PASSWORD,
    active_member,
    attest,
    bearer,
    book,
    clinic_staff,
    exchange_rate,
    household,
    login,
    new_clinic,
    open_slots,
    practitioner,
    registered_with_clinic,
    report_payment,
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
    consult with that patient is open now, a clinic with staff (their role granted through the
    API) who registered the patient, a reported payment, a rate, the doctor's extra window and
    time off, an invitation not yet answered. The doctor's role is given in the database, as
    the factories do, and the consult's start moved there to open its room."""
    settings = make_settings(database_url)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    OUTBOXES[http.base_url.netloc.decode()] = sessions  # where the factories read a code sent
    admin = await login(http, ADMIN_EMAIL)
    await _ok(http.post("/v1/bylaws/versions", json={}, headers=bearer(admin)))
    member, patient = await active_member(http, admin, full_name="Rosa Martínez López")
    home = await household(http, patient)
    await attest(http, patient, home["id"], income_minor=500_000, household_size=3)
    me = await _ok(http.get("/v1/me", headers=bearer(patient)))
    clinic = await new_clinic(http, admin)
    try:
        profile, doctor = await practitioner(http, admin, sessions, settings)
        staff = await clinic_staff(http, admin, clinic["id"])
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
    await registered_with_clinic(http, staff, clinic["id"], patient, me["email"])
    # money reported and a rate to convert it; the doctor's own schedule; an open invitation
    payment = await _ok(report_payment(http, patient, household_id=home["id"], amount_minor=2000))
    rate = await exchange_rate(http, admin, "17.25")
    day = (clock.today() + timedelta(days=20)).isoformat()
    window = await _ok(
        http.post(
            f"/v1/practitioners/{profile['id']}/extra-windows",
            json={"day": day, "start": "21:00", "end": "22:00"},
            headers=bearer(doctor),
        )
    )
    off = clock.today() + timedelta(days=25)
    time_off = await _ok(
        http.post(
            f"/v1/practitioners/{profile['id']}/time-off",
            json={"start": f"{off}T00:00:00-06:00", "end": f"{off}T23:00:00-06:00"},
            headers=bearer(doctor),
        )
    )
    cousin, _ = await active_member(http, admin, full_name="Tomás Martínez López")
    invited = await _ok(
        http.post(
            f"/v1/households/{home['id']}/members",
            json={"member_id": cousin["id"]},
            headers=bearer(patient),
        )
    )
    [invitation] = [i for i in invited["invitations"] if i["member_id"] == cousin["id"]]
    attachment = await _ok(
        http.post(
            f"/v1/appointments/{booked['id']}/attachments",
            files={"file": ("biometria.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            data={"kind": "lab_result"},
            headers=bearer(patient),
        )
    )
    proposal = await _ok(
        http.post(
            "/v1/proposals",
            json={"kind": "resolution", "title": "Abrir una clínica", "body": "¿Sí o no?"},
            headers=bearer(admin),
        )
    )
    app = await _ok(  # the patient's app, approved: the fuzzer reaches /v1/apps/{client_id}
        http.post(
            "/v1/apps",
            json={
                "name": "Citas Fácil",
                "kind": "confidential",
                "redirect_uris": ["https://citas.example.org/callback"],
                "scopes": ["me", "appointments:read"],
                "contact": "dev@citas.example.org",
            },
            headers=bearer(patient),
        ),
        201,
    )
    await _ok(http.post(f"/v1/apps/{app['client_id']}/approve", json={}, headers=bearer(admin)))
    hook = await _ok(  # its webhook endpoint: the fuzzer reaches /v1/apps/{client_id}/webhooks/…
        http.post(
            f"/v1/apps/{app['client_id']}/webhooks",
            json={
                "url": "https://hooks.citas.example.org/in",
                "event_types": ["appointment.booked"],
            },
            headers=bearer(patient),
        ),
        201,
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
            "attachment_id": attachment["id"],
            "practitioner_id": profile["id"],
            "clinic_id": clinic["id"],
            "proposal_id": proposal["id"],
            "payment_id": payment["id"],
            "rate_id": rate["id"],
            "window_id": window["id"],
            "time_off_id": time_off["id"],
            "invitation_id": invitation["id"],
            "account_id": me["id"],
            # the FHIR views (`/fhir/R4`) name the same objects by their FHIR names
            "role_id": profile["id"],
            "schedule_id": profile["id"],
            "location_id": clinic["id"],
            "patient_id": me["id"],
            "encounter_id": booked["id"],
            "kind": "Slot",
            "client_id": app["client_id"],
            "endpoint_id": hook["id"],
            "delivery_id": hook["id"],  # no delivery yet: any id is answered 404
        },
    )


__all__ = ["ADMIN_EMAIL", "PASSWORD", "Seeded", "seed"]
