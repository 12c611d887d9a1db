"""What a referral must never do, found by attacking the loop: a specialist who declines without
accepting never learns who the patient is; only the consult the clinic booked for the patient
herself carries the referral (not her child's, not one she booked privately); a referral whose
consult fell through is not stuck; a written answer is stamped with a digest and the database
keeps it as given; a doctor who left keeps no access; a refusal says why."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock
from cooperative.membership.models import Dependent
from telehealth.practitioners.models import Practitioner
from telehealth.referrals import service as referrals
from telehealth.referrals.models import Referral
from telehealth.scheduling.models import Appointment
from tests.app.test_referrals import NOTE, ROSA, act, booked_with_ana, make_loop, refer
from tests.factories import (
    PASSWORD,
    active_member,
    bearer,
    household,
    registered_with_clinic,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


@pytest.fixture
async def loop(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    return await make_loop(client, admin, sessionmaker, settings)


def _identity(loop: dict[str, Any]) -> tuple[str, ...]:
    return ROSA, loop["rosa"]["id"], loop["rosa"]["email"]


async def test_a_specialist_who_declines_without_accepting_never_sees_who_the_patient_is(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    beto = loop["beto"]["tokens"]
    reason = "No atiendo diabetes en mujeres de más de 50 años por teleconsulta"
    declined = await act(client, referral, "decline", beto, reason=reason)
    assert declined.status_code == 200, declined.text
    assert declined.json()["state"] == "declined"
    again = await act(client, referral, "decline", beto, reason=reason)  # a retry on a bad link
    assert again.status_code == 200, again.text
    seen = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(beto))
    assert seen.status_code == 200
    for answer in (declined, again, seen):
        assert "Glucosa en ayunas" in answer.text  # the clinical content he decided on
        for secret in _identity(loop):
            assert secret not in answer.text
    mine = await client.get("/v1/referrals/mine", headers=bearer(beto))
    assert mine.json()["items"] == []
    files = await client.get(f"/v1/referrals/{referral['id']}/attachments", headers=bearer(beto))
    assert files.status_code == 404
    # the clinic reads why, and the history says declined once
    desk = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["nurse"]))
    assert desk.json()["decline_reason"] == reason
    assert desk.json()["practitioner_id"] is None
    assert [e["state"] for e in desk.json()["history"]] == ["sent", "declined"]
    # Ana, who never took it, does not see a declined referral at all
    ana = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["ana"]["tokens"]))
    assert ana.status_code == 404


async def test_only_the_consult_the_clinic_booked_for_the_patient_herself_carries_the_referral(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral = await refer(client, loop)
    assert (await act(client, referral, "accept", loop["ana"]["tokens"])).status_code == 200
    appointment = await booked_with_ana(client, loop)
    _, parent = await active_member(client, admin)  # a child of any household will do
    home = await household(client, parent)
    async with sessionmaker() as session:
        child = Dependent(household_id=uuid.UUID(home["id"]), full_name="Sofía Matías")
        session.add(child)
        await session.commit()
        child_id = child.id

    async def linked_as(**values: Any) -> httpx.Response:
        async with sessionmaker() as session:
            await session.execute(
                update(Appointment)
                .where(col(Appointment.id) == uuid.UUID(appointment))
                .values(**values)
            )
            await session.commit()
        return await act(client, referral, "schedule", loop["nurse"], appointment_id=appointment)

    clinic = uuid.UUID(loop["clinic"]["id"])
    # her daughter's consult: its note would go to the clinic under Rosa's referral
    refused = await linked_as(dependent_id=child_id)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/not-the-referrals-consult")
    # a consult booked privately (no clinic): hers, not the clinic's to read
    assert (await linked_as(dependent_id=None, clinic_id=None)).status_code == 422
    # the consult the clinic booked for her
    linked = await linked_as(clinic_id=clinic)
    assert linked.status_code == 200, linked.text
    assert linked.json()["state"] == "scheduled"
    assert linked.json()["appointment_id"] == appointment


async def test_a_referral_whose_consult_fell_through_is_linked_again_or_let_go(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    ana, nurse = loop["ana"]["tokens"], loop["nurse"]
    assert (await act(client, referral, "accept", ana)).status_code == 200
    first = await booked_with_ana(client, loop)
    assert (await act(client, referral, "schedule", nurse, appointment_id=first)).status_code == 200
    # linking the same consult again is a retry: the same answer, once in the history
    again = await act(client, referral, "schedule", ana, appointment_id=first)
    assert again.status_code == 200
    assert [e["state"] for e in again.json()["history"]] == ["sent", "accepted", "scheduled"]
    second = await booked_with_ana(client, loop, days=3)
    # while the first consult is on, the referral is not moved, declined or withdrawn
    for action, tokens, body in (
        ("schedule", nurse, {"appointment_id": second}),
        ("decline", ana, {"reason": "Mejor presencial"}),
        ("withdraw", nurse, {}),
    ):
        held = await client.post(
            f"/v1/referrals/{referral['id']}/{action}",
            json=body or None,
            headers={**bearer(tokens), "Accept-Language": "es"},
        )
        assert held.status_code == 409, held.text
        assert held.json()["type"].endswith("/referral-consult-still-on")
        assert "cancele primero la consulta" in held.json()["detail"]
    # Rosa could not come: the clinic cancels, and links the consult it booked instead
    cancelled = await client.post(
        f"/v1/appointments/{first}/cancel",
        json={"reason": "No consiguió transporte"},
        headers=bearer(nurse),
    )
    assert cancelled.status_code == 200, cancelled.text
    moved = await act(client, referral, "schedule", nurse, appointment_id=second)
    assert moved.status_code == 200, moved.text
    assert moved.json()["appointment_id"] == second
    # the first consult is free to be linked to no referral; the second one cancelled too,
    # the clinic lets the referral go
    cancelled = await client.post(
        f"/v1/appointments/{second}/cancel", json={"reason": "Se mudó"}, headers=bearer(nurse)
    )
    assert cancelled.status_code == 200, cancelled.text
    withdrawn = await act(client, referral, "withdraw", nurse)
    assert withdrawn.status_code == 200, withdrawn.text
    assert [e["state"] for e in withdrawn.json()["history"]] == [
        "sent",
        "accepted",
        "scheduled",
        "scheduled",
        "withdrawn",
    ]


async def test_a_written_answer_carries_its_digest_and_the_database_keeps_it(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral = await refer(client, loop)
    ana = loop["ana"]["tokens"]
    assert (await act(client, referral, "accept", ana)).status_code == 200
    answered = await act(client, referral, "answer", ana, **NOTE)
    assert answered.status_code == 200, answered.text
    answer = answered.json()["answer"]
    stamp = {k: v for k, v in answer["signature"].items() if k != "digest"}
    async with sessionmaker() as session:
        stored = await session.get(Referral, uuid.UUID(referral["id"]))
        assert stored is not None and stored.answer is not None
        kept = stored.answer
    content = {k: v for k, v in kept.items() if k != "signature"}
    assert content == NOTE
    assert referrals.answer_verifies(stored)
    assert answer["signature"]["digest"] == kept["signature"]["digest"]
    assert stamp["licence"] == "1234567"
    # the same answer under another referral (or another patient) does not verify
    elsewhere = Referral(**{**stored.model_dump(), "id": uuid.uuid4()})
    assert not referrals.answer_verifies(elsewhere)
    altered = Referral(**{**stored.model_dump(), "answer": {**kept, "plan": "Suspender todo"}})
    assert not referrals.answer_verifies(altered)
    # nobody rewrites it afterwards, not even with SQL
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="kept as given"):
            await session.execute(
                update(Referral).where(col(Referral.id) == stored.id).values(answer={**NOTE})
            )
    async with sessionmaker() as session:  # a change of anything else still goes through
        await session.execute(
            update(Referral)
            .where(col(Referral.id) == stored.id)
            .values(version=Referral.version + 1)
        )
        await session.commit()


async def test_a_doctor_who_left_no_longer_sees_the_referral_and_a_refusal_says_why(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral = await refer(client, loop)
    ana = loop["ana"]["tokens"]
    assert (await act(client, referral, "accept", ana)).status_code == 200
    for action, tokens, why in (
        ("accept", loop["nurse"], "a specialist of the referral's specialty accepts it"),
        (
            "schedule",
            loop["rosa_t"],
            "the referring clinic or the specialist who accepted links the consult",
        ),
    ):
        refused = await client.post(
            f"/v1/referrals/{referral['id']}/{action}",
            json={"appointment_id": str(uuid.uuid4())} if action == "schedule" else None,
            headers={**bearer(tokens), "Accept-Language": "en"},
        )
        assert refused.status_code == 403
        assert refused.json()["detail"] == f"Your account may not do this ({why})."
        assert "{" not in refused.json()["detail"]
    async with sessionmaker() as session:
        await session.execute(
            update(Practitioner)
            .where(col(Practitioner.id) == uuid.UUID(loop["ana"]["profile"]["id"]))
            .values(active=False)
        )
        await session.commit()
    gone = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(ana))
    assert gone.status_code == 404
    for secret in _identity(loop):
        assert secret not in gone.text
    mine = await client.get("/v1/referrals/mine", headers=bearer(ana))
    assert mine.status_code == 403
    assert "{reason}" not in mine.text


async def _began_with_ana(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[dict[str, Any], str]:
    """A referral Ana accepted, scheduled into the clinic's consult, which began 20 minutes ago."""
    referral = await refer(client, loop)
    assert (await act(client, referral, "accept", loop["ana"]["tokens"])).status_code == 200
    appointment = await booked_with_ana(client, loop)
    linked = await act(client, referral, "schedule", loop["nurse"], appointment_id=appointment)
    assert linked.status_code == 200, linked.text
    async with sessionmaker() as session:
        began = clock.now() - timedelta(minutes=20)
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(appointment))
            .values(start=began, end=began + timedelta(minutes=30))
        )
        await session.commit()
    return referral, appointment


async def test_a_consult_that_began_is_not_cancelled_from_under_its_referral(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral, appointment = await _began_with_ana(client, loop, sessionmaker)
    for tokens in (loop["nurse"], loop["rosa_t"]):
        refused = await client.post(
            f"/v1/appointments/{appointment}/cancel",
            json={"reason": "Ya no"},
            headers={**bearer(tokens), "Accept-Language": "es"},
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/consult-begun")
        assert "su médico registra si se realizó" in refused.json()["detail"]
    # the referral stays the consult's: the clinic cannot let it go while it is on
    withdrawn = await act(client, referral, "withdraw", loop["nurse"])
    assert withdrawn.status_code == 409
    # the doctor records what happened, and signing completes the referral as ever
    seen = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["nurse"]))
    assert seen.json()["state"] == "scheduled"


async def test_the_clinic_lets_go_a_referral_whose_specialist_left_before_signing(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    referral, appointment = await _began_with_ana(client, loop, sessionmaker)
    ana = loop["ana"]["tokens"]
    recorded = await client.post(
        f"/v1/appointments/{appointment}/status", json={"status": "fulfilled"}, headers=bearer(ana)
    )
    assert recorded.status_code == 200, recorded.text
    # Ana still practises: the note may come, the referral waits for it
    assert (await act(client, referral, "withdraw", loop["nurse"])).status_code == 409
    async with sessionmaker() as session:  # she leaves without signing
        await session.execute(
            update(Practitioner)
            .where(col(Practitioner.id) == uuid.UUID(loop["ana"]["profile"]["id"]))
            .values(active=False)
        )
        await session.commit()
    withdrawn = await act(client, referral, "withdraw", loop["nurse"])
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["state"] == "withdrawn"


async def test_a_doctor_referred_by_her_clinic_is_its_patient_not_its_specialist(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
) -> None:
    ana = loop["ana"]["tokens"]
    me = (await client.get("/v1/me", headers=bearer(ana))).json()
    await registered_with_clinic(client, loop["nurse"], loop["clinic"]["id"], ana, me["email"])
    referral = await refer(client, loop, patient_account_id=me["id"])
    waiting = await client.get("/v1/referrals/open", headers=bearer(ana))
    assert referral["id"] not in waiting.text
    refused = await act(client, referral, "accept", ana)
    assert refused.status_code == 403
    # Beto, of the same specialty, takes it; she reads it as its patient
    assert (await act(client, referral, "accept", loop["beto"]["tokens"])).status_code == 200
    hers = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(ana))
    assert hers.json()["practitioner_id"] == loop["beto"]["profile"]["id"]


async def test_an_erased_patients_open_referrals_are_withdrawn_and_kept_with_the_record(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    rosa = loop["rosa_t"]
    answered = await refer(client, loop)
    ana = loop["ana"]["tokens"]
    assert (await act(client, answered, "accept", ana)).status_code == 200
    assert (await act(client, answered, "answer", ana, **NOTE)).status_code == 200
    waiting = await refer(client, loop, reason="Neuropatía en pies")
    exported = (await client.get("/v1/me/export", headers=bearer(rosa))).json()["referrals"]
    assert {r["id"] for r in exported} == {answered["id"], waiting["id"]}
    [theirs] = [r for r in exported if r["id"] == answered["id"]]
    assert theirs["answer"]["plan"] == NOTE["plan"]

    erased = await client.post("/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(rosa))
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["clinical_record_kept_until"] is not None
    assert any("referrals" in kept for kept in report["kept"])
    assert any("open referrals" in gone for gone in report["erased"])
    # no specialist goes on with her waiting referral; the clinic sees it withdrawn
    beto = await client.get("/v1/referrals/open", headers=bearer(loop["beto"]["tokens"]))
    assert waiting["id"] not in beto.text
    desk = await client.get(f"/v1/referrals/{waiting['id']}", headers=bearer(loop["nurse"]))
    assert desk.json()["state"] == "withdrawn"
    kept = await client.get(f"/v1/referrals/{answered['id']}", headers=bearer(loop["nurse"]))
    assert kept.json()["answer"]["plan"] == NOTE["plan"]
