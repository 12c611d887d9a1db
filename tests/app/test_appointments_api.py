"""Booking consults through the API: slots, checks, fees, roles, changes, calendar, events."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.dues.models import Invoice
from cooperative.kernel import clock
from telehealth.scheduling.models import Appointment
from tests.factories import (
    PASSWORD,
    active_member,
    attest,
    bearer,
    book,
    clinic_staff,
    household,
    login,
    new_clinic,
    open_slots,
    practitioner,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


@pytest.fixture
async def doctor(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    return await practitioner(client, admin, sessionmaker, settings)


async def _email(client: httpx.AsyncClient, tokens: dict[str, Any]) -> str:
    email: str = (await client.get("/v1/me", headers=bearer(tokens))).json()["email"]
    return email


def _tomorrow() -> str:
    return (clock.today() + timedelta(days=2)).isoformat()


async def _doctor_slots(
    client: httpx.AsyncClient, tokens: dict[str, Any], doctor_id: str
) -> list[str]:
    """The doctor's open slot starts from the day after tomorrow, soonest first."""
    found = await open_slots(client, tokens, **{"from": _tomorrow()})
    return [s["start"] for s in found if s["practitioner_id"] == doctor_id]


async def _first_slot(client: httpx.AsyncClient, tokens: dict[str, Any], doctor_id: str) -> str:
    slots = await _doctor_slots(client, tokens, doctor_id)
    assert slots, "the doctor must have open slots"
    return slots[0]


async def test_a_non_member_books_at_the_non_member_price_and_the_slot_is_gone(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    booked = await book(client, patient, profile["id"], start)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["status"] == "booked"
    assert appointment["fee"] == {
        "amount_minor": 60000,
        "currency": "MXN",
        "fee_class": "non-member",
        "explanation": {"basis": "non-member", "summary": "non-member price (bylaws)"},
        "bylaws_version": 1,
    }
    assert datetime.fromisoformat(appointment["start"]) == datetime.fromisoformat(start)
    remaining = [s["start"] for s in await open_slots(client, patient, **{"from": _tomorrow()})]
    assert start not in remaining
    again = await book(client, patient, profile["id"], start)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/slot-taken")


async def test_a_member_pays_the_sliding_scale_fee_fixed_at_booking(
    client: httpx.AsyncClient, admin: dict[str, Any], doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await active_member(client, admin)
    home = await household(client, patient)
    await attest(client, patient, home["id"], income_minor=100, household_size=3)
    start = await _first_slot(client, patient, profile["id"])
    booked = (await book(client, patient, profile["id"], start)).json()
    assert (booked["fee"]["amount_minor"], booked["fee"]["fee_class"]) == (3000, "A")
    assert booked["fee"]["explanation"]["table"] == "INEGI 2026-01, rural"
    assert booked["fee"]["bylaws_version"] == 1


async def test_the_doctor_sees_the_fee_and_its_class_never_the_figures_behind_it(
    client: httpx.AsyncClient, admin: dict[str, Any], doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """The poverty line times the exact percentage is the household's income: only the household
    (and admins) may see them; the doctor and a clinic see the fee, its class and its basis."""
    profile, doctor_tokens = doctor
    _, patient = await active_member(client, admin)
    home = await household(client, patient)
    await attest(client, patient, home["id"], income_minor=123457, household_size=3)
    start = await _first_slot(client, patient, profile["id"])
    booked = (await book(client, patient, profile["id"], start)).json()
    figures = {"poverty_line_minor", "percent_exact", "table", "household_id"}
    assert figures <= booked["fee"]["explanation"].keys()
    seen_by_admin = await client.get(f"/v1/appointments/{booked['id']}", headers=bearer(admin))
    assert figures <= seen_by_admin.json()["fee"]["explanation"].keys()

    one = await client.get(f"/v1/appointments/{booked['id']}", headers=bearer(doctor_tokens))
    listed = await client.get("/v1/appointments", headers=bearer(doctor_tokens))
    [item] = [a for a in listed.json()["items"] if a["id"] == booked["id"]]
    for seen in (one.json(), item):
        assert seen["fee"] == {
            "amount_minor": booked["fee"]["amount_minor"],
            "currency": "MXN",
            "fee_class": booked["fee"]["fee_class"],
            "explanation": {"basis": "attested"},
            "bylaws_version": 1,
        }
    for response in (one, listed):
        assert booked["fee"]["explanation"]["percent_exact"] not in response.text
        assert home["id"] not in response.text
    # an admin's list shows the figures: it is in the patient's access log, as each read is
    every = await client.get("/v1/appointments", headers=bearer(admin))
    assert booked["fee"]["explanation"]["percent_exact"] in every.text
    log = (await client.get("/v1/me/access-log", headers=bearer(patient))).json()["items"]
    assert ("admin", "appointments") in {(e["accessor_role"], e["resource"]) for e in log}


async def test_a_lapsed_member_is_told_to_pay_first(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    doctor: tuple[dict[str, Any], dict[str, Any]],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    profile, _ = doctor
    member, patient = await active_member(client, admin)
    async with sessionmaker() as session:
        await session.execute(
            update(Invoice)
            .where(col(Invoice.member_id) == uuid.UUID(member["id"]))
            .values(due_on=clock.today() - timedelta(days=100))
        )
        await session.commit()
    start = await _first_slot(client, patient, profile["id"])
    refused = await book(
        client,
        patient,
        profile["id"],
        start,
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/not-in-good-standing")


@pytest.mark.parametrize(
    ("shift", "problem"),
    [(timedelta(minutes=7), "not-a-slot"), (timedelta(days=40), "beyond-horizon")],
)
async def test_times_the_schedule_does_not_offer_are_refused(
    client: httpx.AsyncClient,
    doctor: tuple[dict[str, Any], dict[str, Any]],
    shift: timedelta,
    problem: str,
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    start = datetime.fromisoformat(await _first_slot(client, patient, profile["id"])) + shift
    response = await book(client, patient, profile["id"], start.isoformat())
    assert response.status_code == 422
    assert response.json()["type"].endswith(f"/{problem}")


async def test_minimum_notice_is_enforced(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, _ = await practitioner(
        client, admin, sessionmaker, settings, min_notice_minutes=60 * 24 * 5
    )
    _, patient = await signed_up(client)
    # 10:00 in Mexico City two days from now is a slot of the rules, but inside five days' notice
    day = clock.today() + timedelta(days=2)
    start = datetime.combine(day, time(10), ZoneInfo("America/Mexico_City")).isoformat()
    response = await book(client, patient, profile["id"], start)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/too-soon")
    assert "7200 minutos" in response.json()["detail"]  # Spanish by default
    slots = [s for s in await open_slots(client, patient) if s["practitioner_id"] == profile["id"]]
    first = min(datetime.fromisoformat(s["start"]) for s in slots)
    assert first - clock.now() >= timedelta(days=5)


async def test_a_doctor_licensed_only_in_mexico_cannot_see_a_patient_in_california(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    refused = await book(client, patient, profile["id"], start, patient_jurisdiction="US-CA")
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/not-licensed")
    assert "US-CA" in refused.json()["detail"]
    californian = await open_slots(client, patient, jurisdiction="US-CA")
    assert profile["id"] not in {s["practitioner_id"] for s in californian}


async def test_an_expired_licence_does_not_count(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, _ = await practitioner(
        client, admin, sessionmaker, settings, licences=(("US-CA", "2025-12-31"),)
    )
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    refused = await book(client, patient, profile["id"], start, patient_jurisdiction="US-CA")
    assert refused.json()["type"].endswith("/not-licensed")


async def test_search_by_specialty_and_language_in_the_patients_time_zone(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    nahuatl, _ = await practitioner(
        client, admin, sessionmaker, settings, specialties=("pediatrics",), languages=("es", "nah")
    )
    await practitioner(client, admin, sessionmaker, settings, specialties=("cardiology",))
    _, patient = await signed_up(client)
    found = await open_slots(
        client,
        patient,
        specialty="pediatrics",
        language="nah",
        timezone="America/Tijuana",
        **{"from": _tomorrow()},
    )
    assert {s["practitioner_id"] for s in found} == {nahuatl["id"]}
    slot = found[0]
    in_tijuana = datetime.fromisoformat(slot["start"])
    in_mexico_city = datetime.fromisoformat(slot["practitioner_start"])
    assert in_tijuana == in_mexico_city  # the same instant, shown in two zones
    # Mexico City is UTC-6 all year; Tijuana UTC-8 in winter and UTC-7 in summer
    assert in_mexico_city.utcoffset() == timedelta(hours=-6)
    assert in_tijuana.utcoffset() in (timedelta(hours=-8), timedelta(hours=-7))
    assert in_tijuana.hour != in_mexico_city.hour


async def test_clinic_staff_book_for_their_registered_patients_only(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    doctor: tuple[dict[str, Any], dict[str, Any]],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, _ = doctor
    clinics = [await new_clinic(client, admin, n) for n in ("Clínica San Miguel", "Ejutla")]
    staff = await clinic_staff(client, admin, clinics[0]["id"])
    rosa, rosa_tokens = await signed_up(client)
    juan, _ = await signed_up(client)
    registered = await client.post(
        f"/v1/clinics/{clinics[0]['id']}/patients",
        json={"username": rosa["email"]},
        headers=bearer(staff),
    )
    assert registered.status_code == 202
    assert registered.json()["status"] == "pending"
    start = await _first_slot(client, staff, profile["id"])
    before_consent = await book(
        client,
        staff,
        profile["id"],
        start,
        patient_account_id=rosa["id"],
        clinic_id=clinics[0]["id"],
        referral_reason="x",
    )
    assert before_consent.status_code == 404  # nobody is booked through a clinic without consent
    accepted = await client.post(
        f"/v1/clinics/{clinics[0]['id']}/patients/accept",
        json={"code": registered.json()["code"]},
        headers=bearer(rosa_tokens),
    )
    assert accepted.json()["account_id"] == rosa["id"]
    for_rosa = await book(
        client,
        staff,
        profile["id"],
        start,
        patient_account_id=rosa["id"],
        clinic_id=clinics[0]["id"],
        referral_reason="Sospecha de diabetes; glucosa 180 mg/dL",
        preferred_language="es",
        interpreter_needed=True,
    )
    assert for_rosa.status_code == 201, for_rosa.text
    assert for_rosa.json()["clinic_id"] == clinics[0]["id"]
    assert for_rosa.json()["interpreter_needed"] is True
    # a patient registered with no clinic of theirs, or their clinic given for another clinic
    later = (datetime.fromisoformat(start) + timedelta(hours=1)).isoformat()
    for body in (
        {"patient_account_id": juan["id"], "clinic_id": clinics[0]["id"]},
        {"patient_account_id": rosa["id"], "clinic_id": clinics[1]["id"]},
    ):
        refused = await book(client, staff, profile["id"], later, referral_reason="x", **body)
        assert refused.status_code == 404, body
    missing_referral = await book(
        client,
        staff,
        profile["id"],
        later,
        patient_account_id=rosa["id"],
        clinic_id=clinics[0]["id"],
    )
    assert missing_referral.status_code == 422


async def test_patients_book_for_themselves_and_their_dependents_only(
    client: httpx.AsyncClient, admin: dict[str, Any], doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, parent = await active_member(client, admin)
    home = await household(client, parent)
    child = (
        await client.post(
            f"/v1/households/{home['id']}/dependents",
            json={"full_name": "Sofía"},
            headers=bearer(parent),
        )
    ).json()
    start = await _first_slot(client, parent, profile["id"])
    for_child = await book(client, parent, profile["id"], start, dependent_id=child["id"])
    assert for_child.status_code == 201
    _, stranger = await signed_up(client)
    later = (datetime.fromisoformat(start) + timedelta(hours=1)).isoformat()
    me = (await client.get("/v1/me", headers=bearer(parent))).json()
    assert (
        await book(client, stranger, profile["id"], later, dependent_id=child["id"])
    ).status_code == 404
    assert (
        await book(client, stranger, profile["id"], later, patient_account_id=me["id"])
    ).status_code == 404


async def test_booking_for_an_account_that_is_not_there_is_a_404_and_the_slot_stays_open(
    client: httpx.AsyncClient, admin: dict[str, Any], doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Before, an unknown account was a foreign-key failure taken for `slot-taken` (409)."""
    profile, _ = doctor
    closed_account, closed = await signed_up(client)
    erased = await client.post(
        "/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(closed)
    )
    assert erased.status_code == 200, erased.text
    start = await _first_slot(client, admin, profile["id"])
    for someone in (str(uuid.uuid4()), closed_account["id"]):
        refused = await book(client, admin, profile["id"], start, patient_account_id=someone)
        assert refused.status_code == 404, refused.text
    assert start in await _doctor_slots(client, admin, profile["id"])


async def test_an_idempotent_retry_returns_the_first_booking(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    body = {"practitioner_id": profile["id"], "start": start, "patient_jurisdiction": "MX"}
    headers = {**bearer(patient), "Idempotency-Key": "consulta-rosa-1"}
    first = await client.post("/v1/appointments", json=body, headers=headers)
    retry = await client.post("/v1/appointments", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    listed = (await client.get("/v1/appointments", headers=bearer(patient))).json()["items"]
    assert len(listed) == 1


async def test_reschedule_is_atomic_and_cancellation_may_be_late(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    _, rival = await signed_up(client)
    slots = await _doctor_slots(client, patient, profile["id"])
    mine = (await book(client, patient, profile["id"], slots[0])).json()
    await book(client, rival, profile["id"], slots[1])
    clash = await client.post(
        f"/v1/appointments/{mine['id']}/reschedule",
        json={"start": slots[1]},
        headers=bearer(patient),
    )
    assert clash.status_code == 409
    unchanged = (await client.get(f"/v1/appointments/{mine['id']}", headers=bearer(patient))).json()
    assert unchanged["start"] == mine["start"]
    moved = await client.post(
        f"/v1/appointments/{mine['id']}/reschedule",
        json={"start": slots[2]},
        headers=bearer(patient),
    )
    assert moved.status_code == 200
    free_again = [s["start"] for s in await open_slots(client, patient, **{"from": _tomorrow()})]
    assert slots[0] in free_again and slots[2] not in free_again
    cancelled = await client.post(
        f"/v1/appointments/{mine['id']}/cancel",
        json={"reason": "Ya me siento mejor"},
        headers=bearer(patient),
    )
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["late_cancellation"] is False  # two days ahead, the window is 24 h
    events = (
        await client.get(f"/v1/appointments/{mine['id']}/events", headers=bearer(patient))
    ).json()["items"]
    assert [e["type"] for e in events] == ["booked", "rescheduled", "cancelled"]


async def test_the_doctor_records_what_happened_and_others_cannot(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    doctor: tuple[dict[str, Any], dict[str, Any]],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    profile, doctor_tokens = doctor
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    appointment = (await book(client, patient, profile["id"], start)).json()
    path = f"/v1/appointments/{appointment['id']}/status"
    early = await client.post(path, json={"status": "fulfilled"}, headers=bearer(doctor_tokens))
    assert early.status_code == 409  # not before the consult
    assert early.json()["type"].endswith("/too-early")
    async with sessionmaker() as session:  # the consult's time comes
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(appointment["id"]))
            .values(
                start=clock.now() - timedelta(minutes=5), end=clock.now() + timedelta(minutes=25)
            )
        )
        await session.commit()
    narrowed = await login(client, await _email(client, doctor_tokens), scope="appointments:read")
    assert (
        await client.post(path, json={"status": "noshow"}, headers=bearer(narrowed))
    ).status_code == 403
    assert (
        await client.post(path, json={"status": "fulfilled"}, headers=bearer(patient))
    ).status_code == 403
    arrived = await client.post(path, json={"status": "arrived"}, headers=bearer(doctor_tokens))
    assert arrived.json()["status"] == "arrived"
    done = await client.post(path, json={"status": "fulfilled"}, headers=bearer(doctor_tokens))
    assert done.json()["status"] == "fulfilled"
    assert (
        await client.post(path, json={"status": "noshow"}, headers=bearer(doctor_tokens))
    ).status_code == 409
    assert (
        await client.post(path, json={"status": "entered-in-error"}, headers=bearer(doctor_tokens))
    ).status_code == 403
    fixed = await client.post(path, json={"status": "entered-in-error"}, headers=bearer(admin))
    assert fixed.json()["status"] == "entered-in-error"
    schedule = (await client.get("/v1/appointments", headers=bearer(doctor_tokens))).json()["items"]
    assert [a["id"] for a in schedule] == [appointment["id"]]


async def test_another_persons_appointment_is_404_everywhere(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    _, stranger = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    appointment = (await book(client, patient, profile["id"], start)).json()
    base = f"/v1/appointments/{appointment['id']}"
    for method, path, body in (
        ("GET", base, None),
        ("GET", f"{base}/calendar.ics", None),
        ("GET", f"{base}/events", None),
        ("POST", f"{base}/cancel", {"reason": "x"}),
        ("POST", f"{base}/reschedule", {"start": start}),
    ):
        response = await client.request(method, path, json=body, headers=bearer(stranger))
        assert response.status_code == 404, path
    assert (await client.get("/v1/appointments", headers=bearer(stranger))).json()["items"] == []


async def test_the_calendar_event_has_the_time_and_no_health_data(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    appointment = (await book(client, patient, profile["id"], start)).json()
    response = await client.get(
        f"/v1/appointments/{appointment['id']}/calendar.ics", headers=bearer(patient)
    )
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    utc_start = datetime.fromisoformat(start).astimezone(UTC)
    assert f"DTSTART:{utc_start:%Y%m%dT%H%M%SZ}\r\n" in text
    assert f"DTEND:{utc_start + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\n" in text
    assert "STATUS:CONFIRMED" in text
    assert "dolor de cabeza" not in text  # the reason is health data


async def test_time_off_over_a_booking_keeps_it_and_flags_a_reschedule(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, doctor_tokens = doctor
    _, patient = await signed_up(client)
    start = await _first_slot(client, patient, profile["id"])
    appointment = (await book(client, patient, profile["id"], start)).json()
    begin = datetime.fromisoformat(start) - timedelta(hours=1)
    off = await client.post(
        f"/v1/practitioners/{profile['id']}/time-off",
        json={
            "start": begin.isoformat(),
            "end": (begin + timedelta(hours=4)).isoformat(),
            "reason": "congreso",
        },
        headers=bearer(doctor_tokens),
    )
    assert off.status_code == 201
    assert off.json()["appointments_to_reschedule"] == [appointment["id"]]
    kept = (
        await client.get(f"/v1/appointments/{appointment['id']}", headers=bearer(patient))
    ).json()
    assert (kept["status"], kept["needs_reschedule"]) == ("booked", True)
    events = (
        await client.get(f"/v1/appointments/{appointment['id']}/events", headers=bearer(patient))
    ).json()["items"]
    assert events[-1]["type"] == "needs-reschedule"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/slots?from=9999-12-30", None),
        ("GET", "/v1/slots?from=0001-01-01", None),
        ("GET", "/v1/slots?timezone=America", None),
        ("GET", "/v1/slots?jurisdiction=XX", None),
        ("GET", "/v1/appointments?starts_after=2026-01-01T00:00:00", None),
        ("GET", "/v1/appointments?starts_after=9999-12-31T23:00:00-05:00", None),
        ("POST", "/v1/appointments", {"start": "9999-12-31T23:00:00-05:00"}),
        ("POST", "/v1/appointments", {"start": "2026-12-01T10:00:00"}),
        ("POST", "/v1/appointments", {"start": "0001-01-01T00:30:00Z"}),
    ],
)
async def test_odd_times_and_places_are_4xx_problems(
    client: httpx.AsyncClient,
    doctor: tuple[dict[str, Any], dict[str, Any]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    if body is not None:
        body = {"practitioner_id": profile["id"], "patient_jurisdiction": "MX", **body}
    response = await client.request(method, path, json=body, headers=bearer(patient))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_slot_dates_are_the_callers_dates(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, patient = await signed_up(client)
    day = clock.today() + timedelta(days=3)
    found = await open_slots(
        client,
        patient,
        timezone="Europe/Madrid",
        **{"from": day.isoformat(), "to": day.isoformat()},
    )
    assert found
    assert {datetime.fromisoformat(s["start"]).date() for s in found} == {day}
    assert {datetime.fromisoformat(s["start"]).utcoffset() for s in found} == {timedelta(hours=1)}


async def test_the_doctor_may_cancel_and_a_cancelled_consult_cannot_move(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, doctor_tokens = doctor
    _, patient = await signed_up(client)
    slots = await _doctor_slots(client, patient, profile["id"])
    appointment = (await book(client, patient, profile["id"], slots[0])).json()
    cancelled = await client.post(
        f"/v1/appointments/{appointment['id']}/cancel",
        json={"reason": "Emergencia en hospital"},
        headers=bearer(doctor_tokens),
    )
    assert cancelled.status_code == 200
    moved = await client.post(
        f"/v1/appointments/{appointment['id']}/reschedule",
        json={"start": slots[1]},
        headers=bearer(patient),
    )
    assert moved.status_code == 409


async def test_a_rescheduled_consult_updates_the_phone_calendar(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, _ = doctor
    _, patient = await signed_up(client)
    slots = await _doctor_slots(client, patient, profile["id"])
    appointment = (await book(client, patient, profile["id"], slots[0])).json()
    path = f"/v1/appointments/{appointment['id']}/calendar.ics"
    assert "SEQUENCE:0\r\n" in (await client.get(path, headers=bearer(patient))).text
    await client.post(
        f"/v1/appointments/{appointment['id']}/reschedule",
        json={"start": slots[1]},
        headers=bearer(patient),
    )
    moved = (await client.get(path, headers=bearer(patient))).text
    assert "SEQUENCE:1\r\n" in moved
    new_start = datetime.fromisoformat(slots[1]).astimezone(UTC)
    assert f"DTSTART:{new_start:%Y%m%dT%H%M%SZ}" in moved
