"""The doctor's note of a consult through the API, committing for real on SQLite and
PostgreSQL: drafts saved as the doctor types (versions, retries, races), signing, the
database's refusal to change a signed note, addenda, the patient's summary, who may read
what (and the access log it leaves), consent to remote care, and the record in ARCO."""

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db import create_sessionmaker
from app.settings import Settings
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from telehealth.records import service as records_service
from telehealth.records.models import ClinicalNote
from telehealth.scheduling.models import Appointment
from tests.conftest import Database, make_settings
from tests.factories import (
    PASSWORD,
    account_with_role,
    bearer,
    book,
    clinic_staff,
    login,
    new_clinic,
    open_slots,
    practitioner,
    registered_with_clinic,
    signed_up,
)
from tests.prescription_support import consult_now
from tests.records_support import (
    COMPLETE,
    another_consult,
    consult_under_way,
    note_path,
    save,
    signed_note,
)

Client = Callable[..., httpx.AsyncClient]


async def test_a_draft_saves_as_the_doctor_types_and_a_stale_save_is_refused(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    first = await save(http, consult, 0, {"content": {"subjective": {"reason": "Cefalea"}}})
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["status"]) == (1, "draft")
    assert first.json()["kind"] == "evolution"  # booked by the patient, not a clinic

    second = await save(http, consult, 1, {"content": {"subjective": {"reason": "Cefalea y"}}})
    assert second.json()["version"] == 2
    # the first save arrives again over a flaky link: refused, nothing lost
    stale = await save(http, consult, 1, {"content": {"subjective": {"reason": "Cefalea"}}})
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("/stale-note")
    # the second save's retry (its answer was lost) is answered with the note as saved
    retry = await save(http, consult, 1, {"content": {"subjective": {"reason": "Cefalea y"}}})
    assert retry.status_code == 200
    assert retry.json()["version"] == 2
    spanish = await http.put(
        note_path(consult),
        json={"version": 0},
        headers={**bearer(consult["doctor"]), "Accept-Language": "es"},
    )
    assert spanish.status_code == 409
    assert "versión 2" in spanish.json()["detail"]

    # the draft is the doctor's: the patient sees nothing of it yet
    assert (
        await http.get(note_path(consult), headers=bearer(consult["patient"]))
    ).status_code == 404
    mine = await http.get(note_path(consult), headers=bearer(consult["doctor"]))
    assert mine.json()["content"]["subjective"]["reason"] == "Cefalea y"


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("vital_signs", {"systolic_mmhg": 90, "diastolic_mmhg": 120}),
        ("vital_signs", {"temperature_c": 60}),
        ("vital_signs", {"spo2_pct": 101}),
        ("vital_signs", {"heart_rate_bpm": "fast"}),
    ],
)
async def test_vital_signs_out_of_range_are_refused(
    live_client_with: Client, database: Database, part: str, value: dict[str, Any]
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    response = await save(http, consult, 0, {"content": {"objective": {part: value}}})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_diagnoses_come_from_the_shipped_cie10_list(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    unknown = {"content": {"assessment": {"diagnoses": [{"code": "X99.9"}]}}}
    assert (await save(http, consult, 0, unknown)).status_code == 422
    found = await http.get(
        "/v1/records/cie10",
        params={"q": "hipertension esencial"},
        headers=bearer(consult["doctor"]),
    )
    assert [c["code"] for c in found.json()["items"]] == ["I10"]
    page = await http.get(
        "/v1/records/cie10", params={"limit": 100}, headers=bearer(consult["doctor"])
    )
    rest = await http.get(
        "/v1/records/cie10",
        params={"limit": 200, "cursor": page.json()["next_cursor"]},
        headers=bearer(consult["doctor"]),
    )
    assert len(page.json()["items"]) + len(rest.json()["items"]) >= 250


async def test_signing_stamps_name_cedula_time_and_digest_and_freezes_the_note(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    draft = await save(http, consult, 0, {"content": {"subjective": {"reason": "Control"}}})
    incomplete = await http.post(
        f"{note_path(consult)}/sign", json={"version": 1}, headers=bearer(consult["doctor"])
    )
    assert incomplete.status_code == 422
    assert "content.plan" in incomplete.json()["missing"]
    assert "summary.found" in incomplete.json()["missing"]
    assert draft.json()["signature"] is None

    note = await signed_note_over(http, consult, draft.json()["version"])
    signature = note["signature"]
    assert note["status"] == "signed"
    assert signature["name"] == consult["doctor_name"]
    assert signature["jurisdiction"] == "MX" and signature["licence"]
    assert note["diagnoses"] == [
        {"code": "I10", "description": "Hipertensión esencial (primaria)", "note": "fuera de meta"}
    ]
    async with create_sessionmaker(database.engine)() as session:
        row = await session.get(ClinicalNote, uuid.UUID(note["id"]))
        assert row is not None
        assert records_service.verify(row)
        stamped = {
            **records_service.signed_fields(row),
            "signer_name": row.signer_name,
            "signer_licence": row.signer_licence,
            "signer_jurisdiction": row.signer_jurisdiction,
            "signed_at": row.signed_at.isoformat() if row.signed_at else None,
        }
        canonical = json.dumps(stamped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == signature["digest"]

    again = await save(http, consult, note["version"], COMPLETE)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/note-signed")
    resigned = await http.post(
        f"{note_path(consult)}/sign",
        json={"version": note["version"]},
        headers=bearer(consult["doctor"]),
    )
    assert resigned.status_code == 409


async def signed_note_over(
    http: httpx.AsyncClient, consult: dict[str, Any], version: int
) -> dict[str, Any]:
    saved = await save(http, consult, version, COMPLETE)
    assert saved.status_code == 200, saved.text
    signed = await http.post(
        f"{note_path(consult)}/sign",
        json={"version": saved.json()["version"]},
        headers=bearer(consult["doctor"]),
    )
    assert signed.status_code == 200, signed.text
    note: dict[str, Any] = signed.json()
    return note


async def test_the_database_refuses_to_change_or_delete_a_signed_note(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    note = await signed_note(http, consult)
    sessions = create_sessionmaker(database.engine)
    for statement in (
        "UPDATE clinical_note SET summary = '{}' WHERE id = :id",
        "UPDATE clinical_note SET signed_at = NULL WHERE id = :id",
        "DELETE FROM clinical_note WHERE id = :id",
    ):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="immutable"):
                await session.execute(text(statement), {"id": _id(database, note["id"])})
            await session.rollback()
    unchanged = await http.get(note_path(consult), headers=bearer(consult["patient"]))
    assert unchanged.json()["summary"] == COMPLETE["summary"]

    # a draft is not frozen: the trigger guards signed rows only
    other = await another_consult(http, database)
    draft = (await save(http, other, 0, {})).json()
    async with sessions() as session:
        await session.execute(
            text("UPDATE clinical_note SET version = 7 WHERE id = :id"),
            {"id": _id(database, draft["id"])},
        )
        await session.commit()
    assert (await http.get(note_path(other), headers=bearer(other["doctor"]))).json()[
        "version"
    ] == 7


def _id(database: Database, value: str) -> Any:
    """A uuid as each backend stores it (SQLite: 32 hex digits, PostgreSQL: a uuid)."""
    return uuid.UUID(value) if database.backend == "postgresql" else uuid.UUID(value).hex


async def test_corrections_are_signed_addenda_and_update_the_patients_summary(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    early = await http.post(
        f"{note_path(consult)}/addenda", json={"text": "x"}, headers=bearer(consult["doctor"])
    )
    assert early.status_code == 404  # no note yet
    await save(http, consult, 0, {})
    draft_addendum = await http.post(
        f"{note_path(consult)}/addenda", json={"text": "x"}, headers=bearer(consult["doctor"])
    )
    assert draft_addendum.json()["type"].endswith("/note-not-signed")

    note = await signed_note_over(http, consult, 1)
    correction = {
        "text": "Corrijo: losartán 50 mg cada 12 horas, no cada 24.",
        "summary": {
            "language": "es",
            "found": "Su presión está alta.",
            "to_do": "Tome losartán dos veces al día.",
            "come_back": "En cuatro semanas.",
        },
    }
    added = await http.post(
        f"{note_path(consult)}/addenda", json=correction, headers=bearer(consult["doctor"])
    )
    assert added.status_code == 201, added.text
    [addendum] = added.json()["addenda"]
    assert addendum["text"] == correction["text"]
    assert addendum["signature"]["name"] == consult["doctor_name"]
    assert addendum["signature"]["digest"] != note["signature"]["digest"]
    assert added.json()["content"] == note["content"]  # the note itself is as signed

    summary = await http.get(f"{note_path(consult)}/summary", headers=bearer(consult["patient"]))
    assert summary.json()["summary"]["to_do"] == COMPLETE["summary"]["to_do"]
    assert summary.json()["addenda"][0]["to_do"] == "Tome losartán dos veces al día."
    # the patient's list of records carries the correction too (the page's addenda are read
    # together, not note by note)
    records = await http.get("/v1/me/records", headers=bearer(consult["patient"]))
    assert records.json()["items"] == [summary.json()]
    stranger = await http.post(
        f"{note_path(consult)}/addenda", json={"text": "x"}, headers=bearer(consult["patient"])
    )
    assert stranger.status_code == 404


async def test_concurrent_saves_of_one_draft_keep_one_and_refuse_the_other(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    clients = [live_client_with() for _ in range(4)]

    def body(n: int) -> dict[str, Any]:
        return {"content": {"subjective": {"reason": f"version {n}"}}}

    created = await asyncio.gather(*(save(c, consult, 0, body(n)) for n, c in enumerate(clients)))
    assert sorted(r.status_code for r in created) == [200, 409, 409, 409]
    [winner] = [r.json() for r in created if r.status_code == 200]

    saved = await asyncio.gather(
        *(save(c, consult, 1, body(10 + n)) for n, c in enumerate(clients))
    )
    assert sorted(r.status_code for r in saved) == [200, 409, 409, 409]
    [latest] = [r.json() for r in saved if r.status_code == 200]
    read = (await http.get(note_path(consult), headers=bearer(consult["doctor"]))).json()
    assert read["version"] == 2 == latest["version"]
    assert read["content"]["subjective"] == latest["content"]["subjective"]
    assert winner["id"] == read["id"]


async def test_who_reads_the_note_and_what_the_patients_access_log_says(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    await signed_note(http, consult)
    sessions = create_sessionmaker(database.engine)
    settings = make_settings(database.url)
    _, other_doctor = await practitioner(http, consult["admin"], sessions, settings)
    _, other_patient = await signed_up(http)
    staff = await login(http, await account_with_role(sessions, settings, Role.CLINIC_STAFF))
    paths = [
        note_path(consult),
        f"{note_path(consult)}/summary",
        f"/v1/appointments/{consult['id']}/encounter",
    ]
    for path in paths:
        for stranger in (other_doctor, other_patient, staff, consult["admin"]):
            refused = await http.get(path, headers=bearer(stranger))
            assert refused.status_code == 404, (path, refused.text)
        assert (await http.get(path, headers=bearer(consult["patient"]))).status_code == 200
        assert (await http.get(path, headers=bearer(consult["doctor"]))).status_code == 200
    for writer in (consult["admin"], other_doctor, consult["patient"]):  # only the doctor writes
        for method, path, body in (
            ("PUT", note_path(consult), {"version": 2}),
            ("POST", f"{note_path(consult)}/addenda", {"text": "Corrección"}),
        ):
            response = await http.request(method, path, json=body, headers=bearer(writer))
            assert response.status_code == 404, response.text
    as_admin = await http.get(
        note_path(consult),
        params={"reason": "queja CONAMED 2026-114"},
        headers=bearer(consult["admin"]),
    )
    assert as_admin.status_code == 200

    log = (await http.get("/v1/me/access-log", headers=bearer(consult["patient"]))).json()
    reads = [(e["accessor_account_id"], e["resource"], e["reason"]) for e in log["items"]]
    admin_id = (await http.get("/v1/me", headers=bearer(consult["admin"]))).json()["id"]
    assert (admin_id, f"note:{consult['id']}", "queja CONAMED 2026-114") in reads
    assert (consult["doctor_id"], f"note:{consult['id']}", None) in reads
    assert (consult["doctor_id"], f"encounter:{consult['id']}", None) in reads
    assert not any(who == consult["patient_id"] for who, _, _ in reads)
    assert [r for r in reads if r[0] == admin_id and r[1].startswith("note")] == [
        (admin_id, f"note:{consult['id']}", "queja CONAMED 2026-114")
    ]  # the refused reads without a reason left nothing behind

    listed = (await http.get("/v1/me/records", headers=bearer(consult["patient"]))).json()
    assert [r["appointment_id"] for r in listed["items"]] == [consult["id"]]
    assert listed["items"][0]["summary"]["come_back"] == COMPLETE["summary"]["come_back"]
    assert (await http.get("/v1/me/records", headers=bearer(other_patient))).json()["items"] == []


async def test_consent_to_remote_care_once_per_version_and_for_a_dependent(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    await consult_under_way(http, database)  # the cooperative's bylaws
    consult = await another_consult(http, database)  # a patient who has not consented yet
    patient = bearer(consult["patient"])
    join = f"/v1/appointments/{consult['id']}/consult/join"
    refused = await http.post(join, headers={**patient, "Accept-Language": "es"})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/telehealth-consent-required")
    assert refused.json()["version"] == 1 and "consentimiento" in refused.json()["detail"]
    assert (await http.post(join, headers=bearer(consult["doctor"]))).status_code == 200
    texts = {
        lang: (
            await http.get("/v1/records/consent", params={"language": lang}, headers=patient)
        ).json()
        for lang in ("es", "en")
    }
    assert "NOM-004-SSA3-2012" in texts["es"]["text"] and "911" in texts["en"]["text"]
    assert texts["es"]["version"] == texts["en"]["version"] == 1
    encounter = f"/v1/appointments/{consult['id']}/encounter"
    assert (await http.get(encounter, headers=patient)).json()["consent"] is None

    given = await http.post(
        "/v1/me/telehealth-consents", json={"version": 1, "language": "es"}, headers=patient
    )
    assert given.status_code == 200, given.text
    again = await http.post(
        "/v1/me/telehealth-consents", json={"version": 1, "language": "en"}, headers=patient
    )
    assert again.json() == given.json()  # once per version
    unknown = await http.post(
        "/v1/me/telehealth-consents", json={"version": 9, "language": "es"}, headers=patient
    )
    assert unknown.status_code == 422
    seen = (await http.get(encounter, headers=bearer(consult["doctor"]))).json()["consent"]
    assert (seen["version"], seen["language"]) == (1, "es")
    joined = await http.post(join, headers=patient)
    assert joined.status_code == 200, joined.text

    # a guardian consents for a dependent of their own household, not of anyone else's
    stranger_child = {"version": 1, "language": "es", "dependent_id": str(uuid.uuid4())}
    assert (
        await http.post("/v1/me/telehealth-consents", json=stranger_child, headers=patient)
    ).status_code == 404
    listed = (await http.get("/v1/me/telehealth-consents", headers=patient)).json()["items"]
    assert [c["id"] for c in listed] == [given.json()["id"]]


async def test_the_export_holds_the_record_and_erasure_says_until_when_it_is_kept(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    note = await signed_note(http, consult)
    other = await another_consult(http, database)  # another patient's draft stays theirs
    await save(http, other, 0, {})
    exported = (await http.get("/v1/me/export", headers=bearer(consult["patient"]))).json()
    [kept] = exported["clinical_record"]["notes"]
    assert (kept["id"], kept["digest"]) == (note["id"], note["signature"]["digest"])
    assert kept["summary"] == COMPLETE["summary"]

    erased = await http.post(
        "/v1/me/erasure",
        json={"password": PASSWORD},
        headers=bearer(consult["patient"]),
    )
    assert erased.status_code == 200, erased.text
    today = clock.today()
    assert (
        erased.json()["clinical_record_kept_until"]
        == date(
            today.year + 5,
            today.month,
            min(today.day, 28) if (today.month, today.day) == (2, 29) else today.day,
        ).isoformat()
    )
    assert any("NOM-004-SSA3-2012" in line for line in erased.json()["kept"])
    # a patient whose record holds only a draft: the draft goes, nothing is kept for NOM-004
    gone = await http.post(
        "/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(other["patient"])
    )
    assert gone.status_code == 200, gone.text
    assert "unsigned drafts of clinical notes" in gone.json()["erased"]
    assert gone.json()["clinical_record_kept_until"] is None
    assert (await http.get(note_path(other), headers=bearer(other["doctor"]))).status_code == 404
    # the note is still there for the doctor
    assert (
        await http.get(note_path(consult), headers=bearer(consult["doctor"]))
    ).status_code == 200


async def test_a_consult_a_clinic_booked_has_an_interconsultation_note_its_staff_do_not_read(
    live_client_with: Client, database: Database
) -> None:
    http = live_client_with()
    consult = await consult_under_way(http, database)
    admin, patient = consult["admin"], consult["patient"]
    clinic = await new_clinic(http, admin)
    staff = await clinic_staff(http, admin, clinic["id"])
    email = (await http.get("/v1/me", headers=bearer(patient))).json()["email"]
    await registered_with_clinic(http, staff, clinic["id"], patient, email)
    seen = await http.get(f"/v1/appointments/{consult['id']}", headers=bearer(patient))
    doctor_id = seen.json()["practitioner"]["id"]
    slots = await open_slots(
        http, staff, **{"from": (clock.today() + timedelta(days=3)).isoformat()}
    )
    [slot] = [s for s in slots if s["practitioner_id"] == doctor_id][:1]
    booked = await book(
        http,
        staff,
        doctor_id,
        slot["start"],
        patient_account_id=consult["patient_id"],
        clinic_id=clinic["id"],
        referral_reason="hipertensión de difícil control",
    )
    assert booked.status_code == 201, booked.text
    referred = {**consult, "id": booked.json()["id"]}
    async with create_sessionmaker(database.engine)() as session:
        start = clock.now() - timedelta(minutes=5)
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(referred["id"]))
            .values(start=start, end=start + timedelta(minutes=30))
        )
        await session.commit()
    note = await signed_note(http, referred)
    assert note["kind"] == "interconsultation"
    # the clinic's staff take part in the appointment, but the note is not theirs to read
    assert (
        await http.get(f"/v1/appointments/{referred['id']}", headers=bearer(staff))
    ).status_code == 200
    for path in (note_path(referred), f"{note_path(referred)}/summary"):
        assert (await http.get(path, headers=bearer(staff))).status_code == 404


async def test_a_guardian_is_asked_to_consent_for_the_child_the_consult_is_for(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """The refusal names the dependent, so the page can ask the guardian for them: the
    guardian's own consent does not cover the child."""
    consult = await consult_now(client, sessionmaker, settings, dependent="Xóchitl Matías Cruz")
    guardian = bearer(consult["patient"])
    join = f"/v1/appointments/{consult['id']}/consult/join"
    refused = (await client.post(join, headers=guardian)).json()
    assert refused["type"].endswith("/telehealth-consent-required")
    assert refused["dependent_name"] == "Xóchitl Matías Cruz"
    own = {"version": refused["version"], "language": "es"}
    assert (
        await client.post("/v1/me/telehealth-consents", json=own, headers=guardian)
    ).status_code == 200
    assert (await client.post(join, headers=guardian)).status_code == 409  # still the child's
    for_child = {**own, "dependent_id": refused["dependent_id"]}
    given = await client.post("/v1/me/telehealth-consents", json=for_child, headers=guardian)
    assert given.status_code == 200, given.text
    assert given.json()["dependent_id"] == refused["dependent_id"]
    assert (await client.post(join, headers=guardian)).status_code == 200
