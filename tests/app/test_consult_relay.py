"""Relay mode and recording through a real server: aiortc participants send their media to the
server's relay peer and receive everyone else's, capped; recording runs only with consent."""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from tests.conftest import Database
from tests.consult_support import (
    ErrorsLogged,
    consult_soon,
    join_consult,
    local_peer,
    next_of_type,
    open_signal,
    signal_as,
)
from tests.factories import PASSWORD, bearer, signed_up


@pytest.fixture(autouse=True)
def no_errors_logged() -> Iterator[None]:
    """The relay works in event handlers and background tasks, where an error is only logged:
    any error logged while a test runs (servers' shutdown included) fails it."""
    catcher = ErrorsLogged()
    logging.getLogger().addHandler(catcher)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(catcher)
    assert [r.getMessage() for r in catcher.records] == []


CAP = {"relay_video_max_width": 160, "relay_video_max_height": 120, "relay_video_max_fps": 10}


def _small_video() -> Any:
    """A 320x240 camera: above the cap, so the relay must scale it down."""
    from aiortc.mediastreams import VideoStreamTrack

    class SmallVideo(VideoStreamTrack):
        async def recv(self) -> Any:
            pts, time_base = await self.next_timestamp()
            frame = av.VideoFrame(width=320, height=240, format="yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts, frame.time_base = pts, time_base
            return frame

    return SmallVideo()


class RelayClient:
    """A participant in relay mode: one aiortc connection to the relay, offering again with more
    receiving slots when asked, counting the frames received from each other participant."""

    def __init__(self, name: str, account_id: str, ws: ClientConnection) -> None:
        from aiortc.mediastreams import AudioStreamTrack

        self.name, self.account_id, self.ws = name, account_id, ws
        self.pc = local_peer()
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(_small_video())
        self.tracks: dict[str, dict[str, str]] = {}  # mid -> whose media, which kind
        self.frames: dict[tuple[str, str], int] = {}
        self.largest: tuple[int, int] = (0, 0)
        self.events: list[dict[str, Any]] = []
        self.offers = 0
        self.connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._on_state)
        self.asked: dict[str, int] | None = None  # slots the relay asked for, not yet offered
        self.tasks: list[asyncio.Task[None]] = []
        self.pc.on(
            "track", lambda track: self.tasks.append(asyncio.create_task(self._count(track)))
        )

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def _count(self, track: Any) -> None:
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                whose = self.tracks.get(mid, {}) if mid is not None else {}
                source = whose.get("account_id", "?")
                key = (source, track.kind)
                self.frames[key] = self.frames.get(key, 0) + 1
                if track.kind == "video":
                    self.largest = max(self.largest, (frame.width, frame.height))

    async def connect(self) -> None:
        await self._offer()
        self.tasks.append(asyncio.create_task(self._signal()))

    async def _offer(self) -> None:
        """Offer with a receiving slot of each kind for everyone the relay asked room for
        (once connected: aiortc cannot add transceivers while it is still connecting)."""
        if self.offers:
            async with asyncio.timeout(30):
                await self.connected.wait()
        for kind, wanted in (self.asked or {}).items():
            receiving = [
                t for t in self.pc.getTransceivers() if t.kind == kind and t.direction == "recvonly"
            ]
            for _ in range(wanted - len(receiving)):
                self.pc.addTransceiver(kind, direction="recvonly")
        self.asked = None
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.offers += 1
        offer = {"type": "offer", "to": "relay", "sdp": self.pc.localDescription.sdp}
        await self.ws.send(json.dumps(offer))

    async def _signal(self) -> None:
        from aiortc import RTCSessionDescription

        async for raw in self.ws:
            message = json.loads(raw)
            self.events.append(message)
            if message.get("from") != "relay":
                continue
            if message["type"] == "answer":
                self.tracks = message["tracks"]
                await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
            elif message["type"] == "tracks":
                self.tracks = message["tracks"]
            elif message["type"] == "renegotiate":
                self.asked = {"audio": message["audio"], "video": message["video"]}
            if self.asked is not None and self.pc.signalingState == "stable":
                await self._offer()

    def got(self, source: str, minimum: int) -> bool:
        return all(self.frames.get((source, kind), 0) >= minimum for kind in ("audio", "video"))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()
        await self.ws.close()


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


async def _room_of(
    host: str, http: httpx.AsyncClient, consult: dict[str, Any], people: list[str]
) -> dict[str, ClientConnection]:
    """Everyone joins and opens their socket; the doctor admits the others."""
    sockets = {}
    for who in people:
        token = (await join_consult(http, consult, who))["consult_token"]
        sockets[who] = await open_signal(host, consult["id"], token)
        await next_of_type(sockets[who], "welcome")
    for who in people:
        if who != "doctor":
            admitted = await http.post(
                f"/v1/appointments/{consult['id']}/consult/admit",
                json={"account_id": consult[f"{who}_id"]},
                headers=bearer(consult["doctor"]),
            )
            assert admitted.status_code == 200, admitted.text
    return sockets


async def _with_interpreter(http: httpx.AsyncClient, consult: dict[str, Any]) -> None:
    account, tokens = await signed_up(http)
    invited = await http.post(
        f"/v1/appointments/{consult['id']}/consult/interpreters",
        json={"account_id": account["id"]},
        headers=bearer(consult["doctor"]),
    )
    assert invited.status_code == 200, invited.text
    consult["interpreter"], consult["interpreter_id"] = tokens, account["id"]


async def test_relay_mode_forwards_everyones_media_to_three_participants_capped(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server(**CAP)
    http = http_to(host)
    consult = await consult_soon(http, database)
    await _with_interpreter(http, consult)
    people = ["doctor", "patient", "interpreter"]
    sockets = await _room_of(host, http, consult, people)
    switched = await http.put(
        f"/v1/appointments/{consult['id']}/consult/mode",
        json={"mode": "relay"},
        headers=bearer(consult["patient"]),  # the patient's link fails: anyone admitted may ask
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["mode"] == "relay"
    for who in people:
        assert (await next_of_type(sockets[who], "mode"))["mode"] == "relay"
    clients = [RelayClient(who, consult[f"{who}_id"], sockets[who]) for who in people]
    try:
        for client in clients:
            await client.connect()
        await until(
            lambda: all(
                c.got(other.account_id, 5) for c in clients for other in clients if other is not c
            ),
            seconds=60,
        )
        for client in clients:  # nobody receives their own media back
            assert client.frames.get((client.account_id, "video"), 0) == 0
            width, height = client.largest
            assert 0 < width <= 160 and 0 < height <= 120  # sent at 320x240, capped by the relay
    finally:
        for client in clients:
            await client.close()


async def test_who_may_switch_modes(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server(**CAP)
    http = http_to(host)
    consult = await consult_soon(http, database)
    mode = f"/v1/appointments/{consult['id']}/consult/mode"
    await join_consult(http, consult, "patient")
    waiting = await http.put(mode, json={"mode": "relay"}, headers=bearer(consult["patient"]))
    assert waiting.status_code == 403  # not admitted yet
    sockets = await _room_of(host, http, consult, ["doctor", "patient"])
    assert (
        await http.put(mode, json={"mode": "relay"}, headers=bearer(consult["patient"]))
    ).json()["mode"] == "relay"
    back = await http.put(mode, json={"mode": "p2p"}, headers=bearer(consult["patient"]))
    assert back.status_code == 403  # only the doctor leaves the relay
    bad = await http.put(mode, json={"mode": "sfu"}, headers=bearer(consult["doctor"]))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    _, outsider = await signed_up(http)
    assert (
        await http.put(mode, json={"mode": "relay"}, headers=bearer(outsider))
    ).status_code == 404
    doctor = await http.put(mode, json={"mode": "p2p"}, headers=bearer(consult["doctor"]))
    assert doctor.json()["mode"] == "p2p"
    await sockets["patient"].send(json.dumps({"type": "offer", "to": "relay", "sdp": "v=0"}))
    assert (await next_of_type(sockets["patient"], "error"))["code"] == "not-relay-mode"
    for ws in sockets.values():
        await ws.close()


async def test_recording_runs_only_while_everyone_present_consents(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    tmp_path: Path,
) -> None:
    host = await server(**CAP, recordings_dir=tmp_path)
    http = http_to(host)
    consult = await consult_soon(http, database)
    base = f"/v1/appointments/{consult['id']}/consult"
    sockets = await _room_of(host, http, consult, ["doctor", "patient"])

    async def consent(who: str, given: bool) -> None:
        response = await http.put(
            f"{base}/consent", json={"recording": given}, headers=bearer(consult[who])
        )
        assert response.status_code == 200, response.text

    start = {"action": "start"}
    refused = await http.post(f"{base}/recording", json=start, headers=bearer(consult["doctor"]))
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/recording-needs-consent")
    assert set(refused.json()["missing"]) == {consult["doctor_id"], consult["patient_id"]}
    await consent("doctor", True)
    refused = await http.post(f"{base}/recording", json=start, headers=bearer(consult["doctor"]))
    assert refused.json()["missing"] == [consult["patient_id"]]
    assert (await http.get(f"{base}/recordings", headers=bearer(consult["doctor"]))).json() == {
        "items": [],
        "next_cursor": None,
    }

    await consent("patient", True)
    by_patient = await http.post(
        f"{base}/recording", json=start, headers=bearer(consult["patient"])
    )
    assert by_patient.status_code == 403  # the doctor records
    started = await http.post(f"{base}/recording", json=start, headers=bearer(consult["doctor"]))
    assert started.status_code == 200 and started.json() == {
        "mode": "relay",
        "recording_requested": True,
    }
    clients = [RelayClient(w, consult[f"{w}_id"], sockets[w]) for w in ("doctor", "patient")]
    try:
        for client in clients:
            await client.connect()

        def recording_event(client: RelayClient, state: str) -> bool:
            return any(e["type"] == "recording" and e["state"] == state for e in client.events)

        await until(lambda: all(recording_event(c, "started") for c in clients), seconds=60)
        await until(
            lambda: all(c.got(o.account_id, 20) for c in clients for o in clients if o is not c), 60
        )
        late = await open_signal(  # someone reconnecting is told a recording is running
            host, consult["id"], (await join_consult(http, consult, "doctor"))["consult_token"]
        )
        assert (await next_of_type(late, "welcome"))["recording_running"] is True
        await late.close()
        await consent("patient", False)  # the patient withdraws: it stops at once
        await until(lambda: all(recording_event(c, "stopped") for c in clients), seconds=10)
        events = [e for e in clients[0].events if e["type"] == "recording"]
        assert events[-1]["state"] == "stopped" and events[-1]["reason"] == "consent-missing"
        await asyncio.sleep(1)  # and it does not start again without the patient's consent
        assert [e for e in clients[0].events if e["type"] == "recording"] == events
    finally:
        for client in clients:
            await client.close()

    segments = (await http.get(f"{base}/recordings", headers=bearer(consult["patient"]))).json()[
        "items"
    ]
    # a new segment starts when the people sending media change: first the doctor alone, then
    # both; the last one stopped when the patient withdrew, and nothing was recorded after
    assert [s["stop_reason"] for s in segments][-1] == "consent-missing"
    assert all(s["stop_reason"] == "participants-changed" for s in segments[:-1])
    segment = segments[-1]
    assert set(segment["participants"]) == {consult["doctor_id"], consult["patient_id"]}
    download = await http.get(segment["download_url"], headers=bearer(consult["patient"]))
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/x-matroska"
    assert len(download.content) == segment["size_bytes"] > 0
    saved = tmp_path / "downloaded.bin"
    saved.write_bytes(download.content)
    with av.open(str(saved)) as container:  # both people's audio and video are in it
        kinds = sorted(stream.type for stream in container.streams)
        assert kinds == ["audio", "audio", "video", "video"]
        video = container.streams.video[0]
        assert sum(1 for _ in container.decode(video)) > 5
    doctor_read = await http.get(segment["download_url"], headers=bearer(consult["doctor"]))
    assert doctor_read.status_code == 200
    _, outsider = await signed_up(http)
    assert (await http.get(segment["download_url"], headers=bearer(outsider))).status_code == 404
    log = (await http.get("/v1/me/access-log", headers=bearer(consult["patient"]))).json()
    assert any(e["resource"] == "consult-recording" for e in log["items"])
    history = (await http.get(f"{base}/consents", headers=bearer(consult["doctor"]))).json()[
        "items"
    ]
    patient_rows = [c for c in history if c["account_id"] == consult["patient_id"]]
    assert len(patient_rows) == 1 and patient_rows[0]["withdrawn_at"] is not None
    # the patient's right to erasure takes the recordings with it, files included
    erased = await http.post(
        "/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(consult["patient"])
    )
    assert erased.status_code == 200, erased.text
    assert "recordings of your video consults" in erased.json()["erased"]
    assert (await http.get(f"{base}/recordings", headers=bearer(consult["doctor"]))).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert await asyncio.to_thread(lambda: list(tmp_path.rglob("*.mkv"))) == []


async def test_the_patients_consent_is_needed_even_when_they_are_not_in_the_room(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    """At a rural clinic the patient sits at the nurse's camera and never connects themselves:
    the doctor and the nurse consenting is not enough."""
    host = await server(**CAP)
    http = http_to(host)
    consult = await consult_soon(http, database)
    base = f"/v1/appointments/{consult['id']}/consult"
    sockets = await _room_of(host, http, consult, ["doctor"])
    await http.put(f"{base}/consent", json={"recording": True}, headers=bearer(consult["doctor"]))
    start = await http.post(
        f"{base}/recording", json={"action": "start"}, headers=bearer(consult["doctor"])
    )
    assert start.status_code == 409 and start.json()["missing"] == [consult["patient_id"]]
    await sockets["doctor"].close()


async def test_someone_whose_access_ends_is_let_go_by_the_relay(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    """The patient erases their account mid-consult: within a heartbeat the relay stops
    sending them the doctor's media, and the doctor's slots no longer carry theirs."""
    host = await server(**CAP, relay_heartbeat_seconds=0.5)
    http = http_to(host)
    consult = await consult_soon(http, database)
    sockets = await _room_of(host, http, consult, ["doctor", "patient"])
    switched = await http.put(
        f"/v1/appointments/{consult['id']}/consult/mode",
        json={"mode": "relay"},
        headers=bearer(consult["doctor"]),
    )
    assert switched.status_code == 200
    doctor = RelayClient("doctor", consult["doctor_id"], sockets["doctor"])
    patient = RelayClient("patient", consult["patient_id"], sockets["patient"])
    try:
        await doctor.connect()
        await patient.connect()
        await until(
            lambda: patient.got(consult["doctor_id"], 5) and doctor.got(consult["patient_id"], 5)
        )
        erased = await http.post(
            "/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(consult["patient"])
        )
        assert erased.status_code == 200
        await until(lambda: doctor.tracks == {}, seconds=10)  # nobody on the doctor's slots
        await asyncio.sleep(1)
        before = patient.frames.get((consult["doctor_id"], "video"), 0)
        await asyncio.sleep(1.5)
        assert patient.frames.get((consult["doctor_id"], "video"), 0) == before
    finally:
        await doctor.close()
        await patient.close()


async def test_a_reconnecting_socket_does_not_lose_to_the_old_ones_late_goodbye(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    old = await signal_as(host, http, consult, "patient")
    await next_of_type(old, "welcome")
    new = await open_signal(  # the phone changed networks; the old socket is not gone yet
        host, consult["id"], (await join_consult(http, consult, "patient"))["consult_token"]
    )
    await next_of_type(new, "welcome")
    await old.close()
    await asyncio.sleep(0.5)
    people = await http.get(
        f"/v1/appointments/{consult['id']}/consult/participants", headers=bearer(consult["patient"])
    )
    [me] = [p for p in people.json()["items"] if p["account_id"] == consult["patient_id"]]
    assert me["present"] is True
    await new.close()
