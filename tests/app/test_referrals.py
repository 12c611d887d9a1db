"""The referral loop (issue 15): Clínica San Miguel refers Rosa to endocrinology; a specialist of
that specialty accepts and answers in writing; who may see and move a referral, and what each
of them sees. The consult and its counter-referral: test_referrals_counter.py."""

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import (
    bearer,
    book,
    clinic_staff,
    new_clinic,
    open_slots,
    practitioner,
    registered_with_clinic,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")
Tokens = dict[str, Any]
ROSA = "Rosa Itzel Matías"
NOTE = {
    "findings": "HbA1c 9.8 % con metformina a dosis plena; sin datos de cetoacidosis.",
    "diagnostic_impression": "Diabetes tipo 2 descontrolada (E11.9)",
    "plan": "Agregar glibenclamida 5 mg antes del desayuno; glucosa capilar en ayunas diaria.",
    "follow_up": "Control en la clínica en 4 semanas con HbA1c en 3 meses.",
}


@pytest.fixture
async def loop(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    return await make_loop(client, admin, sessionmaker, settings)


async def make_loop(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    """The clinic and its nurse, Rosa registered with it, two endocrinologists and a
    pediatrician, and a nurse of another clinic."""
    place = await new_clinic(client, admin)
    nurse = await clinic_staff(client, admin, place["id"])
    rosa, rosa_t = await signed_up(client, display_name=ROSA)
    await registered_with_clinic(client, nurse, place["id"], rosa_t, rosa["email"])
    doctors = {}
    for key, specialty in (
        ("ana", "endocrinology"),
        ("beto", "endocrinology"),
        ("pedi", "pediatrics"),
    ):
        profile, tokens = await practitioner(
            client, admin, sessionmaker, settings, specialties=(specialty,)
        )
        doctors[key] = {"profile": profile, "tokens": tokens}
    elsewhere = await new_clinic(client, admin, "Clínica Tlaxiaco")
    return {
        "clinic": place,
        "nurse": nurse,
        "rosa": rosa,
        "rosa_t": rosa_t,
        "other_nurse": await clinic_staff(client, admin, elsewhere["id"]),
        **doctors,
    }


def _body(loop: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "clinic_id": loop["clinic"]["id"],
        "patient_account_id": loop["rosa"]["id"],
        "specialty": "endocrinology",
        "urgency": "priority",
        "reason": "Glucosa en ayunas de 240 mg/dL pese a metformina",
        "clinical_summary": "Mujer de 52 años, diabetes tipo 2 desde 2019, sin complicaciones.",
        "diagnostic_impression": "Diabetes tipo 2 descontrolada",
        "treatment_given": "Metformina 850 mg cada 12 horas desde marzo",
        "language": "es",
        "interpreter_language": "mix",
        **fields,
    }


async def refer(client: httpx.AsyncClient, loop: dict[str, Any], **fields: Any) -> dict[str, Any]:
    made = await client.post(
        "/v1/referrals", json=_body(loop, **fields), headers=bearer(loop["nurse"])
    )
    assert made.status_code == 201, made.text
    referral: dict[str, Any] = made.json()
    return referral


async def act(
    client: httpx.AsyncClient, referral: dict[str, Any], action: str, tokens: Tokens, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/referrals/{referral['id']}/{action}", json=body or None, headers=bearer(tokens)
    )


async def booked_with_ana(
    client: httpx.AsyncClient, loop: dict[str, Any], *, days: int = 2, **fields: Any
) -> str:
    """A consult the clinic books for Rosa with Ana, `days` from today."""
    ana = loop["ana"]["profile"]["id"]
    slots = await open_slots(
        client, loop["nurse"], **{"from": (clock.today() + timedelta(days=days)).isoformat()}
    )
    start = next(s["start"] for s in slots if s["practitioner_id"] == ana)
    booked = await book(
        client,
        loop["nurse"],
        ana,
        start,
        patient_account_id=loop["rosa"]["id"],
        clinic_id=loop["clinic"]["id"],
        referral_reason="Diabetes descontrolada",
        **fields,
    )
    assert booked.status_code == 201, booked.text
    appointment: str = booked.json()["id"]
    return appointment


async def test_the_clinic_refers_a_specialist_accepts_and_answers_in_writing(
    client: httpx.AsyncClient, loop: dict[str, Any], travel: Any
) -> None:
    referral = await refer(client, loop)
    assert referral["state"] == "sent"
    assert referral["patient_name"] == ROSA
    assert referral["clinic_name"] == "Clínica San Miguel"

    # an endocrinologist sees what to decide on, not who the patient is
    waiting = await client.get("/v1/referrals/open", headers=bearer(loop["ana"]["tokens"]))
    assert [r["id"] for r in waiting.json()["items"]] == [referral["id"]]
    for shown in (
        waiting,
        await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["ana"]["tokens"])),
    ):
        assert "Glucosa en ayunas" in shown.text
        assert ROSA not in shown.text and loop["rosa"]["id"] not in shown.text
        assert loop["rosa"]["email"] not in shown.text
    # a pediatrician, and the nurse of another clinic, do not see it at all
    pedi = await client.get("/v1/referrals/open", headers=bearer(loop["pedi"]["tokens"]))
    assert pedi.json()["items"] == []
    for stranger in (loop["pedi"]["tokens"], loop["other_nurse"]):
        found = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(stranger))
        assert found.status_code == 404

    travel(clock.now() + timedelta(minutes=10))  # tokens live longer
    accepted = await act(client, referral, "accept", loop["ana"]["tokens"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["patient_name"] == ROSA  # now she is Ana's to see
    # Beto, of the same specialty, no longer sees it: it is Ana's
    assert (await client.get("/v1/referrals/open", headers=bearer(loop["beto"]["tokens"]))).json()[
        "items"
    ] == []
    assert (
        await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["beto"]["tokens"]))
    ).status_code == 404

    answered = await act(client, referral, "answer", loop["ana"]["tokens"], **NOTE)
    assert answered.status_code == 200, answered.text

    # the clinic has its answer, and sees how long the referral waited until then
    desk = await client.get(
        f"/v1/clinics/{loop['clinic']['id']}/referrals", headers=bearer(loop["nurse"])
    )
    [seen] = desk.json()["items"]
    assert seen["state"] == "answered"
    assert seen["answer"]["plan"] == NOTE["plan"]
    # stamped as a note is signed: who answered, with the cédula of the licence record, and when
    stamp = seen["answer"]["signature"]
    assert (stamp["name"], stamp["licence"], stamp["jurisdiction"]) == (
        accepted.json()["practitioner_name"],
        "1234567",
        "MX",
    )
    answered_at = datetime.fromisoformat(stamp["signed_at"])
    assert abs(answered_at - datetime.fromisoformat(seen["closed_at"])) < timedelta(seconds=1)
    assert seen["practitioner_name"] == accepted.json()["practitioner_name"]
    assert 600 <= seen["waited_seconds"] < 660  # sent, then ten minutes (and the requests')
    assert [e["state"] for e in seen["history"]] == ["sent", "accepted", "answered"]
    assert clock.now() - datetime.fromisoformat(seen["closed_at"]) < timedelta(minutes=1)
    # Rosa sees it too, and who read it is in her access log
    mine = await client.get("/v1/me/referrals", headers=bearer(loop["rosa_t"]))
    assert mine.json()["items"][0]["answer"]["follow_up"] == NOTE["follow_up"]
    log = await client.get("/v1/me/access-log", headers=bearer(loop["rosa_t"]))
    readers = {(e["accessor_role"], e["resource"]) for e in log.json()["items"]}
    assert ("doctor", f"referral:{referral['id']}") in readers
    assert ("clinic_staff", f"referral:{referral['id']}") in readers


async def test_who_may_move_a_referral_and_from_where(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    ana, beto = loop["ana"]["tokens"], loop["beto"]["tokens"]
    # the clinic cannot accept for a specialist, the patient cannot withdraw, a pediatrician
    # does not even see an endocrinology referral
    assert (await act(client, referral, "accept", loop["nurse"])).status_code == 403
    assert (await act(client, referral, "withdraw", loop["rosa_t"])).status_code == 403
    assert (await act(client, referral, "accept", loop["pedi"]["tokens"])).status_code == 404
    assert (await act(client, referral, "withdraw", loop["other_nurse"])).status_code == 404
    # answering before accepting is out of order
    early = await act(client, referral, "answer", ana, **NOTE)
    assert early.status_code == 409
    assert early.json()["type"].endswith("/referral-state")

    # a retried accept on a bad link answers the same, once in the history
    first = await act(client, referral, "accept", ana)
    again = await act(client, referral, "accept", ana)
    assert first.status_code == again.status_code == 200
    assert [e["state"] for e in again.json()["history"]] == ["sent", "accepted"]
    assert (await act(client, referral, "answer", beto, **NOTE)).status_code == 404

    declined = await act(
        client, referral, "decline", ana, reason="Requiere valoración presencial en segundo nivel"
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["decline_reason"].startswith("Requiere valoración")
    late = await client.post(
        f"/v1/referrals/{referral['id']}/withdraw",
        headers={**bearer(loop["nurse"]), "Accept-Language": "es"},
    )
    assert late.status_code == 409
    assert (
        late.json()["detail"] == "Esta interconsulta está rechazada, así que ya no puede retirarse."
    )


async def test_only_registered_patients_are_referred_and_bad_input_is_refused(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    stranger, _ = await signed_up(client)
    unregistered = await client.post(
        "/v1/referrals",
        json=_body(loop, patient_account_id=stranger["id"]),
        headers=bearer(loop["nurse"]),
    )
    assert unregistered.status_code == 422
    assert unregistered.json()["type"].endswith("/patient-not-registered")
    not_theirs = await client.post(
        "/v1/referrals", json=_body(loop), headers=bearer(loop["other_nurse"])
    )
    assert not_theirs.status_code == 404
    unknown = await client.post(
        "/v1/referrals", json=_body(loop, specialty="astrology"), headers=bearer(loop["nurse"])
    )
    assert unknown.status_code == 422
    # a doctor or a patient cannot refer (the scope is the clinic's)
    for tokens in (loop["ana"]["tokens"], loop["rosa_t"]):
        refused = await client.post("/v1/referrals", json=_body(loop), headers=bearer(tokens))
        assert refused.status_code == 403
    listed = await client.get(
        f"/v1/clinics/{loop['clinic']['id']}/referrals", headers=bearer(loop["nurse"])
    )
    assert listed.json()["items"] == []
