"""The demo's referral loop, as the demo's people see it through the API (issue 15: "Rosa's
referral from Clínica San Miguel answered by a specialist with a note and a prescription")."""

from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import demo
from app.main import password_hasher
from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import bearer, login

JUANA, ROSA = "+529511000001", "+529511000002"


async def test_the_clinic_has_rosas_referral_back_with_the_note_and_the_prescription(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session:
        await demo.seed(session, hasher=password_hasher(settings), settings=settings)
        await session.commit()
    juana = await login(client, JUANA, demo.DEMO_PASSWORD)
    [clinic] = (await client.get("/v1/clinics", headers=bearer(juana))).json()["items"]
    listed = await client.get(f"/v1/clinics/{clinic['id']}/referrals", headers=bearer(juana))
    assert listed.status_code == 200, listed.text
    written, seen = listed.json()["items"]  # newest first

    # ten days ago, to cardiology; accepted, scheduled, and completed when the note was signed
    assert (seen["state"], seen["specialty"], seen["practitioner_name"]) == (
        "completed",
        "cardiology",
        "Dra. Ana López",
    )
    sent = datetime.fromisoformat(seen["created_at"])
    assert timedelta(days=9) < clock.now() - sent < timedelta(days=11)
    assert [e["state"] for e in seen["history"]] == ["sent", "accepted", "scheduled", "completed"]
    returned = seen["counter_referral"]
    note = returned["note"]
    assert note["kind"] == "interconsultation"
    assert [d["code"] for d in note["diagnoses"]] == ["I10", "Z91.1"]
    assert note["content"]["plan"]["treatment"].startswith("Cambiar enalapril por losartán")
    assert "Juana Pérez" in note["content"]["objective"]["vital_signs"]["measured_by"]
    signature = note["signature"]
    assert (signature["name"], signature["licence"], signature["jurisdiction"]) == (
        "Dra. Ana López",
        "DEMO-0000",
        "MX",
    )
    assert len(signature["digest"]) == 64
    assert timedelta(days=6) < clock.now() - datetime.fromisoformat(signature["signed_at"])
    [prescription] = returned["prescriptions"]
    assert prescription["status"] == "valid"
    assert [line["generic_name"] for line in prescription["lines"]] == ["Losartán"]
    assert prescription["prescriber"]["cedula"] == "DEMO-0000"
    assert len(prescription["verification_code"].replace("-", "")) == 28

    # and the second referral, answered in writing two days ago, stamped with who answered
    assert (written["state"], written["counter_referral"]) == ("answered", None)
    assert written["answer"]["plan"].startswith("No requiere tratamiento")
    assert written["answer"]["signature"]["name"] == "Dra. Ana López"
    assert written["answer"]["signature"]["licence"] == "DEMO-0000"

    # Rosa sees both, and the note in her record; the pharmacy verifies her prescription
    rosa = await login(client, ROSA, demo.DEMO_PASSWORD)
    mine = (await client.get("/v1/me/referrals", headers=bearer(rosa))).json()["items"]
    assert [r["state"] for r in mine] == ["answered", "completed"]
    [record] = (await client.get("/v1/me/records", headers=bearer(rosa))).json()["items"]
    assert record["note_id"] == note["note_id"]
    code = prescription["verification_code"]
    verified = await client.get(f"/v1/prescriptions/verify/{code}")
    assert verified.json()["valid"] is True
    # the consult itself is Rosa's and the doctor's: the clinic sees only what came back
    assert (
        await client.get(f"/v1/appointments/{note['appointment_id']}/note", headers=bearer(juana))
    ).status_code == 404
