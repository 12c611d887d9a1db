"""The referral's consult and its counter-referral (issue 15): Clínica San Miguel's referral of
Rosa is scheduled into a consult with the endocrinologist who accepted it; when she signs the
consult's note, the referral is completed by itself, and the clinic has the signed note and
the consult's prescriptions (live: a revoked one shows revoked), and nothing else of the
consult. By hand, completing needs the consult begun and its note signed. A page of referrals
costs the same statements for one referral as for ten."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock
from telehealth.scheduling.models import Appointment
from tests.app.test_referrals import NOTE, act, booked_with_ana, make_loop, refer
from tests.app.test_statement_counts import sent
from tests.conftest import Database
from tests.factories import (
    bearer,
    book,
    open_slots,
    registered_with_clinic,
    signed_up,
)
from tests.records_support import COMPLETE

pytestmark = pytest.mark.usefixtures("bylaws_installed")
LOSARTAN = {
    "generic_name": "Losartán",
    "presentation": "Tabletas de 50 mg",
    "dose": "1 tableta",
    "route": "Oral",
    "frequency": "Cada 24 horas",
    "duration": "30 días",
    "quantity": "30 tabletas",
    "instructions": "Tome una tableta cada mañana.",
}


@pytest.fixture
async def loop(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    return await make_loop(client, admin, sessionmaker, settings)


async def scheduled(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    starts_in: timedelta,
) -> tuple[dict[str, Any], str]:
    """A referral accepted by Ana and scheduled into a consult the clinic booked with her, the
    consult then moved to start `starts_in` from now (negative: it began)."""
    referral = await refer(client, loop)
    ana = loop["ana"]
    assert (await act(client, referral, "accept", ana["tokens"])).status_code == 200
    appointment = await booked_with_ana(client, loop)
    linked = await act(client, referral, "schedule", loop["nurse"], appointment_id=appointment)
    assert linked.status_code == 200, linked.text
    assert linked.json()["state"] == "scheduled"
    async with sessionmaker() as session:  # the consult's time comes
        moved = clock.now() + starts_in
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(appointment))
            .values(start=moved, end=moved + timedelta(minutes=30))
        )
        await session.commit()
    return referral, appointment


async def sign_note(client: httpx.AsyncClient, appointment: str, doctor: Any) -> dict[str, Any]:
    path = f"/v1/appointments/{appointment}/note"
    saved = await client.put(path, json={"version": 0, **COMPLETE}, headers=bearer(doctor))
    assert saved.status_code == 200, saved.text
    signed = await client.post(
        f"{path}/sign", json={"version": saved.json()["version"]}, headers=bearer(doctor)
    )
    assert signed.status_code == 200, signed.text
    note: dict[str, Any] = signed.json()
    return note


async def the_clinics(client: httpx.AsyncClient, loop: dict[str, Any]) -> dict[str, Any]:
    desk = await client.get(
        f"/v1/clinics/{loop['clinic']['id']}/referrals", headers=bearer(loop["nurse"])
    )
    assert desk.status_code == 200, desk.text
    [seen] = desk.json()["items"]
    shown: dict[str, Any] = seen
    return shown


async def test_signing_the_consults_note_completes_the_referral_with_note_and_prescriptions(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral, appointment = await scheduled(
        client, loop, sessionmaker, starts_in=-timedelta(minutes=5)
    )
    ana = loop["ana"]["tokens"]
    # in the consult, Ana prescribes; without a signed note there is nothing to return yet
    issued = await client.post(
        f"/v1/appointments/{appointment}/prescriptions",
        json={"lines": [LOSARTAN], "indications": "Dieta baja en sal."},
        headers=bearer(ana),
    )
    assert issued.status_code == 201, issued.text
    for language, detail in (
        ("en", "The consult's note is not signed yet: sign it"),
        ("es", "La nota de la consulta aún no está firmada: fírmela"),
    ):
        early = await client.post(
            f"/v1/referrals/{referral['id']}/complete",
            headers={**bearer(ana), "Accept-Language": language},
        )
        assert early.status_code == 409, early.text
        assert early.json()["type"].endswith("/note-not-signed")
        assert early.json()["detail"].startswith(detail)
    assert (await the_clinics(client, loop))["state"] == "scheduled"

    note = await sign_note(client, appointment, ana)

    # the referral completed itself, and the clinic has the counter-referral
    seen = await the_clinics(client, loop)
    assert seen["state"] == "completed"
    assert [e["state"] for e in seen["history"]] == ["sent", "accepted", "scheduled", "completed"]
    assert seen["history"][-1]["type"] == "referral.completed"
    returned = seen["counter_referral"]
    assert returned["note"]["note_id"] == note["id"]
    assert returned["note"]["kind"] == "interconsultation"
    assert returned["note"]["content"] == note["content"]
    assert returned["note"]["content"]["plan"]["treatment"] == "Losartán 50 mg cada 24 horas."
    assert [(d["code"], d["description"] != "") for d in returned["note"]["diagnoses"]] == [
        ("I10", True)
    ]
    signature = returned["note"]["signature"]
    assert signature == note["signature"]
    assert (signature["name"], signature["licence"]) == (seen["practitioner_name"], "1234567")
    assert "summary" not in returned["note"]  # the patient's plain-language summary is hers
    [prescribed] = returned["prescriptions"]
    assert prescribed["id"] == issued.json()["id"]
    assert prescribed["status"] == "valid"
    assert prescribed["verification_code"] == issued.json()["verification_code"]
    assert prescribed["lines"][0]["generic_name"] == "Losartán"
    assert prescribed["issued_on"] == issued.json()["issued_on"]
    # repeating the manual completion answers with the referral as it is
    again = await act(client, referral, "complete", ana)
    assert again.status_code == 200, again.text
    assert again.json()["counter_referral"]["note"]["note_id"] == note["id"]

    # a revocation and an addendum reach the clinic too
    revoked = await client.post(
        f"/v1/prescriptions/{prescribed['id']}/revoke",
        json={"reason": "Dosis equivocada; se emitió una receta nueva."},
        headers=bearer(ana),
    )
    assert revoked.status_code == 200, revoked.text
    added = await client.post(
        f"/v1/appointments/{appointment}/note/addenda",
        json={"text": "Se corrige: control en 6 semanas."},
        headers=bearer(ana),
    )
    assert added.status_code == 201, added.text
    returned = (await the_clinics(client, loop))["counter_referral"]
    assert returned["prescriptions"][0]["status"] == "revoked"
    assert returned["prescriptions"][0]["revoked_at"] is not None
    assert [a["text"] for a in returned["addenda"]] == ["Se corrige: control en 6 semanas."]

    # Rosa sees it with her referral; the clinic sees nothing else of the consult
    mine = await client.get("/v1/me/referrals", headers=bearer(loop["rosa_t"]))
    assert mine.json()["items"][0]["counter_referral"]["note"]["note_id"] == note["id"]
    for path in (f"/v1/appointments/{appointment}/note", f"/v1/prescriptions/{prescribed['id']}"):
        assert (await client.get(path, headers=bearer(loop["nurse"]))).status_code == 404
    # strangers get 404 and nothing of it
    for stranger in (loop["other_nurse"], loop["beto"]["tokens"], loop["pedi"]["tokens"]):
        found = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(stranger))
        assert found.status_code == 404
        for secret in (loop["rosa"]["id"], note["id"], prescribed["id"], appointment):
            assert secret not in found.text
    log = await client.get("/v1/me/access-log", headers=bearer(loop["rosa_t"]))
    readers = {(e["accessor_role"], e["resource"]) for e in log.json()["items"]}
    assert ("clinic_staff", f"referral:{referral['id']}") in readers


async def test_a_note_signed_before_the_consult_began_is_returned_by_hand_once_it_has(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    travel: Any,
) -> None:
    # the room opens before the start: Ana signs then, and the consult has not begun
    referral, appointment = await scheduled(
        client, loop, sessionmaker, starts_in=timedelta(minutes=5)
    )
    ana = loop["ana"]["tokens"]
    note = await sign_note(client, appointment, ana)
    assert (await the_clinics(client, loop))["state"] == "scheduled"
    early = await act(client, referral, "complete", ana)
    assert early.status_code == 409
    assert early.json()["type"].endswith("/referral-consult-not-held")
    # the clinic cannot complete it; only the specialist who accepted
    assert (await act(client, referral, "complete", loop["nurse"])).status_code == 403

    travel(clock.now() + timedelta(minutes=10))  # the consult began
    done = await act(client, referral, "complete", ana)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "completed"
    assert done.json()["counter_referral"]["note"]["note_id"] == note["id"]
    assert done.json()["counter_referral"]["prescriptions"] == []


async def test_a_consult_not_linked_to_a_referral_completes_nothing(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral, appointment = await scheduled(
        client, loop, sessionmaker, starts_in=-timedelta(minutes=5)
    )
    # the written answer is for an accepted referral, not a scheduled one
    assert (await act(client, referral, "answer", loop["ana"]["tokens"], **NOTE)).status_code == 409
    # a consult of another patient with Ana, its note signed: the referral stays scheduled
    _, other = await signed_up(client)
    slots = await open_slots(
        client, other, **{"from": (clock.today() + timedelta(days=3)).isoformat()}
    )
    start = next(s["start"] for s in slots if s["practitioner_id"] == loop["ana"]["profile"]["id"])
    booked = await book(client, other, loop["ana"]["profile"]["id"], start)
    assert booked.status_code == 201, booked.text
    async with sessionmaker() as session:
        moved = clock.now() - timedelta(minutes=40)
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(booked.json()["id"]))
            .values(start=moved, end=moved + timedelta(minutes=30))
        )
        await session.commit()
    await sign_note(client, booked.json()["id"], loop["ana"]["tokens"])
    assert (await the_clinics(client, loop))["state"] == "scheduled"
    assert appointment != booked.json()["id"]


async def test_a_page_of_referrals_costs_the_same_statements_for_one_as_for_ten(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    database: Database,
) -> None:
    """Each referral shown reads its clinic, patient, specialist, history, and a completed
    one its note's addenda and the consult's prescriptions: all in bulk, per page."""
    referral, appointment = await scheduled(
        client, loop, sessionmaker, starts_in=-timedelta(minutes=5)
    )
    await sign_note(client, appointment, loop["ana"]["tokens"])
    path = f"/v1/clinics/{loop['clinic']['id']}/referrals"
    with sent(database) as one:
        first = await client.get(path, headers=bearer(loop["nurse"]))
    assert [r["state"] for r in first.json()["items"]] == ["completed"]

    # nine more: another patient's too, waiting, taken by Ana or Beto, answered
    lupe, lupe_t = await signed_up(client, display_name="Lupe Ramírez")
    await registered_with_clinic(client, loop["nurse"], loop["clinic"]["id"], lupe_t, lupe["email"])
    for n in range(9):
        made = await refer(client, loop, **({"patient_account_id": lupe["id"]} if n % 2 else {}))
        doctor = (loop["ana"], loop["beto"])[n % 2]["tokens"]
        if n % 3:
            assert (await act(client, made, "accept", doctor)).status_code == 200
        if n % 3 == 2:
            assert (await act(client, made, "answer", doctor, **NOTE)).status_code == 200
    with sent(database) as ten:
        page = await client.get(path, headers=bearer(loop["nurse"]))
    states = sorted(r["state"] for r in page.json()["items"])
    assert states == ["accepted"] * 3 + ["answered"] * 3 + ["completed"] + ["sent"] * 3
    assert len(ten) == len(one), "\n".join(ten)
    assert referral["id"] in page.text
