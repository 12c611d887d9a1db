"""Consult rooms through a real server: join, waiting room, signaling, reconnects, auth failures."""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from app.security import TokenIssuer, issue_consult_token
from cooperative.kernel import clock
from tests.conftest import Database, make_settings
from tests.consult_support import (
    consult_soon,
    end_consult,
    join_consult,
    local_peer,
    next_of_type,
    open_signal,
    signal_as,
)
from tests.factories import bearer, signed_up


async def test_join_gives_a_token_and_no_public_ice_servers(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    patient = await join_consult(http, consult, "patient")
    doctor = await join_consult(http, consult, "doctor")
    assert (patient["role"], patient["admitted"]) == ("patient", False)
    assert (doctor["role"], doctor["admitted"]) == ("doctor", True)
    assert patient["ice_servers"] == []  # nothing configured: never a public STUN server
    _, outsider = await signed_up(http)
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(outsider)
    )
    assert response.status_code == 404


async def test_turn_credentials_follow_coturns_shared_secret_scheme(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server(turn_secret="coturn-static-auth-secret", turn_urls="turn:127.0.0.1:3478")
    http = http_to(host)
    consult = await consult_soon(http, database)
    joined = await join_consult(http, consult, "patient")
    [turn] = joined["ice_servers"]
    assert turn["urls"] == ["turn:127.0.0.1:3478"]
    expiry, participant = turn["username"].split(":")
    assert participant == consult["patient_id"] and int(expiry) > clock.now().timestamp()
    expected = hmac.new(b"coturn-static-auth-secret", turn["username"].encode(), hashlib.sha1)
    assert turn["credential"] == base64.b64encode(expected.digest()).decode()


async def test_a_room_is_closed_long_before_and_after_the_consult(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database, starts_in=timedelta(hours=3))
    response = await http.post(
        f"/v1/appointments/{consult['id']}/consult/join", headers=bearer(consult["patient"])
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/room-not-open")


async def test_waiting_room_admission_signaling_and_chat(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor_ws = await signal_as(host, http, consult, "doctor")
    welcome = await next_of_type(doctor_ws, "welcome")
    assert welcome["admitted"] is True
    patient_ws = await signal_as(host, http, consult, "patient")
    assert (await next_of_type(patient_ws, "welcome"))["admitted"] is False
    waiting = await next_of_type(doctor_ws, "presence")
    assert (waiting["event"], waiting["from"]) == ("waiting", consult["patient_id"])

    # before admission the patient cannot send an offer
    await patient_ws.send(json.dumps({"type": "offer", "to": consult["doctor_id"], "sdp": "v=0"}))
    assert (await next_of_type(patient_ws, "error"))["code"] == "not-admitted"

    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    admitted = await next_of_type(patient_ws, "presence")
    assert (admitted["event"], admitted["account_id"]) == ("admitted", consult["patient_id"])

    await doctor_ws.send(
        json.dumps({"type": "offer", "to": consult["patient_id"], "sdp": "v=0 o=d"})
    )
    offer = await next_of_type(patient_ws, "offer")
    assert (offer["sdp"], offer["from"]) == ("v=0 o=d", consult["doctor_id"])
    await patient_ws.send(
        json.dumps({"type": "answer", "to": consult["doctor_id"], "sdp": "v=0 o=p"})
    )
    assert (await next_of_type(doctor_ws, "answer"))["sdp"] == "v=0 o=p"
    done = {"type": "candidate", "to": consult["doctor_id"], "candidate": None}
    await patient_ws.send(json.dumps(done))  # end of candidates
    assert (await next_of_type(doctor_ws, "candidate"))["candidate"] is None
    await patient_ws.send(json.dumps({"type": "chat", "text": "¿Me escucha, doctora?"}))
    assert (await next_of_type(doctor_ws, "chat"))["text"] == "¿Me escucha, doctora?"

    # invalid and oversize messages get an error and the socket stays open
    for bad in (
        "not json",
        json.dumps({"type": "dance"}),
        json.dumps({"type": "chat", "text": "x" * 70_000}),
    ):
        await patient_ws.send(bad)
        assert (await next_of_type(patient_ws, "error"))["code"] in ("invalid-message", "too-large")
    await patient_ws.send(json.dumps({"type": "ping"}))
    await next_of_type(patient_ws, "pong")

    # a reconnecting patient gets the room back, with the doctor's latest offer to replay
    await patient_ws.close()
    assert (await next_of_type(doctor_ws, "presence"))["event"] == "leave"
    again = await signal_as(host, http, consult, "patient")
    back = await next_of_type(again, "welcome")
    assert back["admitted"] is True
    assert [m["sdp"] for m in back["replay"] if m["type"] == "offer"] == ["v=0 o=d"]
    present = {p["account_id"] for p in back["participants"] if p["present"]}
    assert present == {consult["doctor_id"], consult["patient_id"]}
    await again.close()
    await doctor_ws.close()


async def test_a_flood_is_rate_limited_without_closing_the_socket(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server(signal_burst=5, signal_messages_per_second=1)
    http = http_to(host)
    consult = await consult_soon(http, database)
    ws = await signal_as(host, http, consult, "doctor")
    await next_of_type(ws, "welcome")
    for _ in range(20):
        await ws.send(json.dumps({"type": "ping"}))
    assert (await next_of_type(ws, "error"))["code"] == "rate-limited"
    await asyncio.sleep(1.1)
    await ws.send(json.dumps({"type": "ping"}))
    await next_of_type(ws, "pong")
    await ws.close()


@pytest.mark.parametrize(
    "case", ["garbage", "other-consult", "room-closed", "expired", "outsider", "access-token"]
)
async def test_sockets_refuse_bad_tokens_and_closed_rooms(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    case: str,
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    token = (await join_consult(http, consult, "patient"))["consult_token"]
    target = consult["id"]
    issuer = TokenIssuer(make_settings(database.url))
    if case == "garbage":
        token = "not-a-token"
    elif case == "other-consult":
        target = str(uuid.uuid4())
    elif case in ("expired", "outsider"):  # signed with the server's key, so only the claims fail
        stranger, _ = await signed_up(http)
        who = consult["patient_id"] if case == "expired" else stranger["id"]
        token = issue_consult_token(
            issuer,
            account_id=uuid.UUID(who),
            appointment_id=uuid.UUID(consult["id"]),
            role="patient",
            minutes=-1 if case == "expired" else 5,
        )
    elif case == "access-token":  # an API token is not a consult token
        token = consult["patient"]["access_token"]
    else:
        await end_consult(database, consult["id"])
    with pytest.raises(InvalidStatus) as refused:
        await open_signal(host, target, token)
    assert refused.value.response.status_code == 403  # closed before the handshake completes


async def _media_counter(track: Any, counts: dict[str, int]) -> None:
    with contextlib.suppress(Exception):
        while True:
            await track.recv()
            counts[track.kind] = counts.get(track.kind, 0) + 1


async def test_two_aiortc_peers_exchange_audio_video_and_data_through_the_api(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    """A doctor and a patient, each a real WebRTC peer, signal through the API's socket and then
    receive each other's audio and video frames and data-channel messages."""
    from aiortc import RTCDataChannel, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor_token = (await join_consult(http, consult, "doctor"))["consult_token"]
    patient_token = (await join_consult(http, consult, "patient"))["consult_token"]
    doctor_ws = await open_signal(host, consult["id"], doctor_token)
    patient_ws = await open_signal(host, consult["id"], patient_token)
    await next_of_type(doctor_ws, "welcome")
    await next_of_type(patient_ws, "welcome")
    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    await next_of_type(patient_ws, "presence")

    doctor_pc, patient_pc = local_peer(), local_peer()
    received: dict[str, dict[str, int]] = {"doctor": {}, "patient": {}}
    messages: dict[str, list[str]] = {"doctor": [], "patient": []}
    tasks: list[asyncio.Task[None]] = []
    try:
        for name, pc in (("doctor", doctor_pc), ("patient", patient_pc)):
            pc.addTrack(AudioStreamTrack())
            pc.addTrack(VideoStreamTrack())
            pc.on(
                "track",
                lambda track, n=name: tasks.append(
                    asyncio.create_task(_media_counter(track, received[n]))
                ),
            )
        channel = doctor_pc.createDataChannel("chat")
        channel.on("message", lambda m: messages["doctor"].append(m))

        @patient_pc.on("datachannel")
        def _on_channel(incoming: RTCDataChannel) -> None:
            @incoming.on("message")
            def _answer(message: str) -> None:
                messages["patient"].append(message)
                incoming.send("pong")

        await doctor_pc.setLocalDescription(await doctor_pc.createOffer())
        offer_out = {
            "type": "offer",
            "to": consult["patient_id"],
            "sdp": doctor_pc.localDescription.sdp,
        }
        await doctor_ws.send(json.dumps(offer_out))
        offer = await next_of_type(patient_ws, "offer")
        await patient_pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await patient_pc.setLocalDescription(await patient_pc.createAnswer())
        answer_out = {
            "type": "answer",
            "to": consult["doctor_id"],
            "sdp": patient_pc.localDescription.sdp,
        }
        await patient_ws.send(json.dumps(answer_out))
        answer = await next_of_type(doctor_ws, "answer")
        await doctor_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

        opened = asyncio.Event()
        channel.on("open", opened.set)
        async with asyncio.timeout(30):
            if channel.readyState != "open":
                await opened.wait()
        channel.send("ping")
        for _ in range(300):  # up to 30 s for frames and the reply to flow
            if messages["doctor"] and all(
                received[p].get(k, 0) >= 10 for p in received for k in ("audio", "video")
            ):
                break
            await asyncio.sleep(0.1)
        assert messages == {"doctor": ["pong"], "patient": ["ping"]}
        assert all(received[p].get(k, 0) >= 10 for p in received for k in ("audio", "video"))
    finally:
        for task in tasks:
            task.cancel()
        await doctor_pc.close()
        await patient_pc.close()
        await doctor_ws.close()
        await patient_ws.close()
