"""The encounter of a consult, from what a real room saw: the signaling sockets' presence and a
participant going to audio only become the encounter's modality and who was there how long."""

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import Database
from tests.consult_support import consult_soon, next_of_type, signal_as
from tests.factories import bearer


async def test_the_encounter_shows_the_modalities_and_who_was_present(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    encounter = f"/v1/appointments/{consult['id']}/encounter"
    before = (await http.get(encounter, headers=bearer(consult["patient"]))).json()
    assert (before["took_place"], before["modality"], before["present"]) == (False, None, [])

    doctor_ws = await signal_as(host, http, consult, "doctor")
    await next_of_type(doctor_ws, "welcome")
    patient_ws = await signal_as(host, http, consult, "patient")
    await next_of_type(patient_ws, "welcome")
    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    await next_of_type(patient_ws, "presence")
    # the patient's link weakens: they turn their camera off
    for _ in range(2):  # said twice, kept once
        await patient_ws.send(json.dumps({"type": "media", "audio_only": True}))
        assert (await next_of_type(doctor_ws, "media"))["audio_only"] is True
    await patient_ws.close()
    assert (await next_of_type(doctor_ws, "presence"))["event"] == "leave"

    seen = (await http.get(encounter, headers=bearer(consult["doctor"]))).json()
    assert seen["took_place"] is True
    assert seen["modality"] == "switched"
    assert [m["modality"] for m in seen["modalities"]] == ["video", "audio_only"]
    assert all(m["end"] is not None for m in seen["modalities"])
    present = {p["account_id"]: p for p in seen["present"]}
    assert present[consult["patient_id"]]["role"] == "patient"
    assert present[consult["patient_id"]]["stays"][0][1] is not None  # left
    assert present[consult["doctor_id"]]["stays"][0][1] is None  # still in the room
    assert seen["consent"]["version"] == 1  # given before joining
    assert seen["note_status"] == "none"
    await doctor_ws.close()
