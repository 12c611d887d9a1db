"""What a clinic and a doctor hear (issue 16): the clinic's staff, of each step a specialist
takes on their referral (accepted, declined, answered, scheduled, completed), the doctor, of a
consult booked or cancelled on their day by someone else. Written with the change, in the
recipient's language, with the time in the doctor's zone; never the patient's name, the
specialty or the reason. A refused or rolled-back change writes nothing."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.app.test_referrals import NOTE, ROSA, act, make_loop, refer
from tests.factories import (
    bearer,
    book,
    grant_role,
    login,
    open_slots,
    practitioner,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")
Tokens = dict[str, Any]
# what the referral and the booking say about Rosa's health, and who she is
PRIVATE = ("Rosa", "Matías", "Glucosa", "glucosa", "endocrin", "Endocrin", "Diabetes", "diabetes")


@pytest.fixture
async def loop(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    """The referral loop's people (tests/app/test_referrals.py), and a second nurse of the
    clinic: Lupe, who reads English."""
    made = await make_loop(client, admin, sessionmaker, settings)
    account, _ = await signed_up(client, display_name="Lupe Kelly", preferred_language="en")
    granted = await grant_role(
        client, admin, account["id"], "clinic_staff", clinic_id=made["clinic"]["id"]
    )
    assert granted.status_code == 201, granted.text
    return {**made, "lupe": await login(client, account["email"])}


async def _messages(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    # the code that verified the account at sign-up is not what these tests are about
    return [item for item in items if not item["template"].startswith("code.")]


def _private_free(message: dict[str, Any]) -> None:
    for word in PRIVATE:
        assert word not in message["body"] and word not in message["subject"], word


async def test_when_ana_accepts_rosas_referral_the_clinic_nurses_hear_it_in_their_language(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    assert await _messages(client, loop["nurse"]) == []  # she sent it: nothing to tell

    accepted = await act(client, referral, "accept", loop["ana"]["tokens"])
    assert accepted.status_code == 200, accepted.text

    [juana] = await _messages(client, loop["nurse"])
    assert juana["template"] == "referral.changed"
    assert juana["language"] == "es" and juana["state"] == "queued"
    assert juana["subject"] == "Novedades de una referencia de su clínica"
    assert juana["body"].startswith(
        "Una referencia de su clínica fue aceptada por un especialista. Véala aquí: "
    )
    assert juana["body"].endswith(f"/v1/referrals/{referral['id']}")
    _private_free(juana)
    [lupe] = await _messages(client, loop["lupe"])
    assert lupe["language"] == "en"
    assert lupe["body"].startswith("A referral from your clinic was accepted by a specialist.")
    _private_free(lupe)
    # the specialist who acted, the other specialists and the patient hear nothing of it here
    for tokens in (loop["ana"]["tokens"], loop["beto"]["tokens"], loop["other_nurse"]):
        assert await _messages(client, tokens) == []


async def test_a_refused_step_writes_nothing(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    assert (await act(client, referral, "accept", loop["ana"]["tokens"])).status_code == 200
    # Beto is too late (it is Ana's now: he no longer sees it), the pediatrician is of
    # another specialty, the nurse may not answer
    late = await act(client, referral, "accept", loop["beto"]["tokens"])
    assert late.status_code == 404, late.text
    stranger = await act(client, referral, "decline", loop["pedi"]["tokens"], reason="No es mío")
    assert stranger.status_code in (403, 404), stranger.text
    answered_by_nurse = await act(client, referral, "answer", loop["nurse"], **NOTE)
    assert answered_by_nurse.status_code in (403, 422), answered_by_nurse.text
    assert [m["body"][:40] for m in await _messages(client, loop["nurse"])] == [
        "Una referencia de su clínica fue aceptad"
    ]


async def test_each_step_is_told_once_and_the_nurse_who_took_it_is_not_told(
    client: httpx.AsyncClient, loop: dict[str, Any], travel: Any
) -> None:
    referral = await refer(client, loop)
    ana = loop["ana"]
    assert (await act(client, referral, "accept", ana["tokens"])).status_code == 200
    slots = await open_slots(
        client, loop["nurse"], **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    start = next(s["start"] for s in slots if s["practitioner_id"] == ana["profile"]["id"])
    booked = await book(
        client,
        loop["nurse"],
        ana["profile"]["id"],
        start,
        patient_account_id=loop["rosa"]["id"],
        clinic_id=loop["clinic"]["id"],
        referral_reason="Diabetes descontrolada",
    )
    assert booked.status_code == 201, booked.text
    travel(clock.now() + timedelta(minutes=1))  # the list is latest first
    body = {"appointment_id": booked.json()["id"]}
    linked = await act(client, referral, "schedule", loop["nurse"], **body)
    assert linked.status_code == 200, linked.text
    again = await act(client, referral, "schedule", loop["nurse"], **body)  # a retry
    assert again.status_code == 200, again.text

    # Juana scheduled it herself: she heard of the acceptance only; Lupe of both steps
    assert [m["body"].split(".")[0] for m in await _messages(client, loop["nurse"])] == [
        "Una referencia de su clínica fue aceptada por un especialista"
    ]
    assert [m["body"].split(":")[0] for m in await _messages(client, loop["lupe"])] == [
        "A referral from your clinic was scheduled",
        "A referral from your clinic was accepted by a specialist. See it here",
    ]
    # Ana, the doctor, heard of the clinic's booking of her day, without who or why
    [told] = await _messages(client, ana["tokens"])
    assert told["template"] == "consult.booked"
    assert told["body"].startswith("Se agendó una consulta en su agenda de Tequio el ")
    _private_free(told)
    assert ROSA not in told["body"]


@pytest.fixture
async def doctor(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    """A doctor in Tijuana, whose patients are in Mexico City."""
    profile, tokens = await practitioner(
        client, admin, sessionmaker, settings, timezone="America/Tijuana"
    )
    return {"profile": profile, "tokens": tokens}


async def _doctors_slots(
    client: httpx.AsyncClient, tokens: Tokens, doctor: dict[str, Any]
) -> list[str]:
    later = (clock.today() + timedelta(days=2)).isoformat()
    return [
        s["start"]
        for s in await open_slots(client, tokens, **{"from": later})
        if s["practitioner_id"] == doctor["profile"]["id"]
    ]


async def test_the_doctor_hears_of_a_booking_and_a_cancellation_by_the_patient(
    client: httpx.AsyncClient, doctor: dict[str, Any], travel: Any
) -> None:
    _, rosa = await signed_up(client, display_name=ROSA)
    start = (await _doctors_slots(client, rosa, doctor))[0]
    booked = await book(client, rosa, doctor["profile"]["id"], start, reason="dolor en el pecho")
    assert booked.status_code == 201, booked.text

    [heard] = await _messages(client, doctor["tokens"])
    assert heard["template"] == "consult.booked" and heard["language"] == "es"
    assert "(hora de Tijuana)" in heard["body"]
    assert heard["body"].endswith(f"/consult/{booked.json()['id']}")
    for private in ("Rosa", "dolor", "pecho"):
        assert private not in heard["body"]

    travel(clock.now() + timedelta(minutes=1))
    cancelled = await client.post(
        f"/v1/appointments/{booked.json()['id']}/cancel",
        json={"reason": "me siento mejor del pecho"},
        headers=bearer(rosa),
    )
    assert cancelled.status_code == 200, cancelled.text
    latest = (await _messages(client, doctor["tokens"]))[0]
    assert latest["template"] == "consult.cancelled"
    assert latest["body"].startswith("Se canceló la consulta de su agenda de Tequio del ")
    assert "(hora de Tijuana)" in latest["body"]
    assert "pecho" not in latest["body"] and "Rosa" not in latest["body"]


async def test_the_doctor_is_not_told_of_her_own_cancellation_nor_of_a_refused_booking(
    client: httpx.AsyncClient, doctor: dict[str, Any]
) -> None:
    _, rosa = await signed_up(client)
    _, pedro = await signed_up(client)
    start = (await _doctors_slots(client, rosa, doctor))[0]
    booked = await book(client, rosa, doctor["profile"]["id"], start)
    assert booked.status_code == 201, booked.text
    taken = await book(client, pedro, doctor["profile"]["id"], start)  # the slot is gone
    assert taken.status_code == 409, taken.text

    cancelled = await client.post(
        f"/v1/appointments/{booked.json()['id']}/cancel",
        json={"reason": "Tengo una emergencia en el hospital"},
        headers=bearer(doctor["tokens"]),
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [m["template"] for m in await _messages(client, doctor["tokens"])] == ["consult.booked"]
