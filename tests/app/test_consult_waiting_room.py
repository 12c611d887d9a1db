"""The waiting room through real sockets: who waits hears nothing of the consult and says nothing
to it until the doctor lets them in; then they get the room. And interpreters who can be invited."""

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from tests.conftest import Database
from tests.consult_support import consult_soon, next_of_type, signal_as
from tests.factories import PASSWORD, bearer, signed_up


async def _until(ws: ClientConnection, done: Callable[[dict[str, Any]], bool]) -> list[Any]:
    """Everything `ws` receives up to and including the first message `done` accepts."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while not seen or not done(seen[-1]):
            seen.append(json.loads(await ws.recv()))
    return seen


def _chat(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "chat" and m["text"] == text


async def test_the_waiting_room_hears_nothing_of_the_consult_and_says_nothing_to_it(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor_ws = await signal_as(host, http, consult, "doctor")
    await next_of_type(doctor_ws, "welcome")
    patient_ws = await signal_as(host, http, consult, "patient")
    waiting = await next_of_type(patient_ws, "welcome")
    assert waiting["admitted"] is False
    assert [p["account_id"] for p in waiting["participants"]] == [consult["patient_id"]]
    assert not waiting.get("replay") and "mode" not in waiting
    assert (await next_of_type(doctor_ws, "presence"))["event"] == "waiting"

    # what the waiting patient sends is refused, and the socket stays open
    for message in (
        {"type": "chat", "text": "¿Hay alguien?"},
        {"type": "media", "muted": True, "audio_only": True},
        {"type": "candidate", "to": consult["doctor_id"], "candidate": None},
    ):
        await patient_ws.send(json.dumps(message))
        assert (await next_of_type(patient_ws, "error"))["code"] == "not-admitted"
    await patient_ws.send(json.dumps({"type": "ping"}))
    await next_of_type(patient_ws, "pong")

    # what the room says meanwhile does not reach the waiting room, except an offer kept for
    # the patient, which comes with the room once they are in
    await doctor_ws.send(json.dumps({"type": "chat", "text": "nota: revisar laboratorios"}))
    await doctor_ws.send(json.dumps({"type": "media", "muted": True, "audio_only": False}))
    await doctor_ws.send(json.dumps({"type": "offer", "to": consult["patient_id"], "sdp": "v=0"}))
    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    await doctor_ws.send(json.dumps({"type": "chat", "text": "Buenas tardes"}))

    heard = await _until(patient_ws, _chat("Buenas tardes"))
    assert [m["type"] for m in heard] == ["welcome", "presence", "chat"]
    room, admitted, _ = heard
    assert room["admitted"] is True
    assert {p["account_id"] for p in room["participants"]} == {
        consult["doctor_id"],
        consult["patient_id"],
    }
    assert [(m["type"], m["sdp"]) for m in room["replay"]] == [("offer", "v=0")]
    assert (room["mode"], room["recording"]) == ("p2p", False)
    assert (admitted["event"], admitted["account_id"]) == ("admitted", consult["patient_id"])

    # once in, the patient is heard; nothing they sent while waiting ever was
    await patient_ws.send(json.dumps({"type": "chat", "text": "Buenas tardes, doctora"}))
    heard_by_doctor = await _until(doctor_ws, _chat("Buenas tardes, doctora"))
    assert [m for m in heard_by_doctor if m["type"] in ("chat", "media", "candidate")] == [
        heard_by_doctor[-1]
    ]
    await patient_ws.close()
    await doctor_ws.close()


async def test_someone_admitted_over_http_gets_the_room_on_their_socket(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor_ws = await signal_as(host, http, consult, "doctor")
    await next_of_type(doctor_ws, "welcome")
    patient_ws = await signal_as(host, http, consult, "patient")
    assert (await next_of_type(patient_ws, "welcome"))["admitted"] is False
    await doctor_ws.send(json.dumps({"type": "chat", "text": "antes"}))
    await doctor_ws.send(json.dumps({"type": "ping"}))
    await next_of_type(doctor_ws, "pong")  # the socket's messages are handled in order
    admitted = await http.post(
        f"/v1/appointments/{consult['id']}/consult/admit",
        json={"account_id": consult["patient_id"]},
        headers=bearer(consult["doctor"]),
    )
    assert admitted.status_code == 200, admitted.text
    await doctor_ws.send(json.dumps({"type": "chat", "text": "después"}))
    heard = await _until(patient_ws, _chat("después"))
    assert [m["type"] for m in heard] == ["welcome", "presence", "chat"]
    assert heard[0]["admitted"] is True
    await patient_ws.close()
    await doctor_ws.close()


async def test_inviting_an_unknown_or_closed_account_as_interpreter_is_a_404(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    """Before, an unknown account was a foreign-key 500 and the connection was dropped."""
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    path = f"/v1/appointments/{consult['id']}/consult/interpreters"
    unknown = await http.post(
        path, json={"account_id": str(uuid.uuid4())}, headers=bearer(consult["doctor"])
    )
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["content-type"] == "application/problem+json"

    closed_account, closed = await signed_up(http)
    erased = await http.post("/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(closed))
    assert erased.status_code in (200, 202, 204), erased.text
    refused = await http.post(
        path, json={"account_id": closed_account["id"]}, headers=bearer(consult["doctor"])
    )
    assert refused.status_code == 404, refused.text

    # the same connection goes on, and a real interpreter is invited and waits to be let in
    interpreter_account, interpreter = await signed_up(http)
    invited = await http.post(
        path, json={"account_id": interpreter_account["id"]}, headers=bearer(consult["doctor"])
    )
    assert invited.status_code == 200, invited.text
    assert (invited.json()["role"], invited.json()["admitted"]) == ("interpreter", False)
    joined = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(interpreter)
    )
    assert (joined.json()["role"], joined.json()["admitted"]) == ("interpreter", False)


async def test_a_participant_of_the_consult_is_not_invited_as_its_interpreter(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/interpreters",
        json={"account_id": consult["patient_id"]},
        headers=bearer(consult["doctor"]),
    )
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/already-a-participant")


async def test_someone_still_waiting_does_not_read_the_room_over_http_either(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    """The socket kept the room from a waiting interpreter, but `…/consult/participants` and
    `…/consult/consents` showed it to them."""
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    room = f"/v1/appointments/{consult['id']}/consult"
    interpreter_account, interpreter = await signed_up(http, display_name="Intérprete mixteco")
    invited = await http.post(
        f"{room}/interpreters",
        json={"account_id": interpreter_account["id"]},
        headers=bearer(consult["doctor"]),
    )
    assert invited.status_code == 200, invited.text
    for who in ("doctor", "patient"):
        assert (await http.post(f"{room}/join", headers=bearer(consult[who]))).is_success
    consented = await http.put(
        f"{room}/consent", json={"recording": True}, headers=bearer(consult["patient"])
    )
    assert consented.status_code == 200, consented.text
    assert (await http.post(f"{room}/join", headers=bearer(interpreter))).is_success
    own = await http.put(f"{room}/consent", json={"recording": True}, headers=bearer(interpreter))
    assert [c["account_id"] for c in own.json()] == [interpreter_account["id"]]

    waiting = await http.get(f"{room}/participants", headers=bearer(interpreter))
    assert waiting.status_code == 403
    assert consult["patient_id"] not in waiting.text
    history = await http.get(f"{room}/consents", headers=bearer(interpreter))
    assert [c["account_id"] for c in history.json()["items"]] == [interpreter_account["id"]]

    admitted = await http.post(
        f"{room}/admit",
        json={"account_id": interpreter_account["id"]},
        headers=bearer(consult["doctor"]),
    )
    assert admitted.status_code == 200, admitted.text
    inside = await http.get(f"{room}/participants", headers=bearer(interpreter))
    assert consult["patient_id"] in {p["account_id"] for p in inside.json()["items"]}
    history = await http.get(f"{room}/consents", headers=bearer(interpreter))
    assert consult["patient_id"] in {c["account_id"] for c in history.json()["items"]}
