"""Server-relayed media for one consult: each participant connects to an aiortc peer here, which
forwards everyone else's tracks to them through MediaRelay, with the video capped.

aiortc decodes what it receives and re-encodes what it sends, so relayed video costs CPU: the
cap (size and frame rate) bounds it. Recording uses the same tracks with aiortc's MediaRecorder.
Signaling goes through `send` (the room's broker): offers, answers and the `tracks` map that
tells a client whose media arrives on which transceiver (by mid).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRecorder, MediaRelay
from aiortc.sdp import candidate_from_sdp

from telehealth.consults import rules

log = logging.getLogger(__name__)

RELAY = "relay"  # the relay's name as a signaling participant
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class VideoCap:
    max_width: int
    max_height: int
    max_fps: float


class CappedVideo(MediaStreamTrack):
    """A relayed video track scaled down and thinned to the cap before it is re-encoded."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, cap: VideoCap) -> None:
        super().__init__()
        self.source = source
        self.cap = cap
        self.rate = rules.FrameRateCap(cap.max_fps)

    async def recv(self) -> Any:
        while True:
            frame: Any = await self.source.recv()
            at = (
                float(frame.pts * frame.time_base)
                if frame.pts is not None and frame.time_base
                else time.monotonic()
            )
            if self.rate.passes(at):
                break
        size = rules.capped_size(frame.width, frame.height, self.cap.max_width, self.cap.max_height)
        if size == (frame.width, frame.height):
            return frame
        scaled = frame.reformat(width=size[0], height=size[1])
        scaled.pts, scaled.time_base = frame.pts, frame.time_base
        return scaled

    def stop(self) -> None:
        super().stop()
        self.source.stop()


@dataclass
class Slot:
    """An outgoing transceiver of one peer and whose media it carries now (None: free)."""

    transceiver: RTCRtpTransceiver
    kind: str
    source: str | None


@dataclass
class Peer:
    account: str
    pc: RTCPeerConnection
    sources: dict[str, MediaStreamTrack] = field(default_factory=dict)  # kind -> their track
    slots: list[Slot] = field(default_factory=list)
    awaiting_answer: bool = False
    again: bool = False


@dataclass
class Segment:
    recorder: MediaRecorder
    path: Path
    participants: frozenset[str]


class RelayRoom:
    """The relay of one consult, living in one worker (see app/relays.py for which one)."""

    def __init__(
        self,
        send: Send,
        cap: VideoCap,
        ice_servers: Callable[[], list[dict[str, Any]]],
        changed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.send = send
        self.changed = changed  # told when a peer's connection ends by itself
        self.lock = asyncio.Lock()  # one change to the room at a time
        self.cap = cap
        self.ice_servers = ice_servers
        self.relay = MediaRelay()
        self.peers: dict[str, Peer] = {}
        self.segment: Segment | None = None

    def _subscribe(self, source: MediaStreamTrack) -> MediaStreamTrack:
        track = self.relay.subscribe(source, buffered=False)
        return CappedVideo(track, self.cap) if source.kind == "video" else track

    async def _error(self, to: str, code: str, message: str) -> None:
        await self.send(
            {"type": "error", "to": to, "from": RELAY, "code": code, "message": message}
        )

    async def offer(self, account: str, sdp: str) -> None:
        """A participant (re)connects to the relay: a fresh peer connection answers them, then
        everyone is renegotiated so each receives the others' media."""
        async with self.lock:
            await self._offer(account, sdp)

    async def _offer(self, account: str, sdp: str) -> None:
        await self._leave(account)
        config = RTCConfiguration([RTCIceServer(**server) for server in self.ice_servers()])
        pc = RTCPeerConnection(config)
        peer = Peer(account, pc)

        @pc.on("track")
        def _incoming(track: MediaStreamTrack) -> None:
            peer.sources[track.kind] = track

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if (
                pc.connectionState not in ("failed", "closed")
                or self.peers.get(account) is not peer
            ):
                return
            try:
                await self.leave(account)
                if self.changed is not None:
                    await self.changed()
            except Exception:  # an event handler's error would otherwise be lost in pyee
                log.exception("the relay could not let a participant go")

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:  # aiortc raises several kinds for an unusable SDP
            await pc.close()
            await self._error(account, "invalid-offer", "the relay cannot use this offer")
            return
        self.peers[account] = peer
        await self.send(
            {"type": "answer", "to": account, "from": RELAY, "sdp": pc.localDescription.sdp}
        )
        for other in list(self.peers.values()):
            await self._sync(other)

    async def answer(self, account: str, sdp: str) -> None:
        async with self.lock:
            await self._answer(account, sdp)

    async def _answer(self, account: str, sdp: str) -> None:
        peer = self.peers.get(account)
        if peer is None or not peer.awaiting_answer:
            return
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        except Exception:
            await self._error(account, "invalid-answer", "the relay cannot use this answer")
            return
        peer.awaiting_answer = False
        if peer.again:
            peer.again = False
            await self._sync(peer, force=True)

    async def candidate(self, account: str, init: dict[str, Any]) -> None:
        peer = self.peers.get(account)
        line = init.get("candidate") if isinstance(init, dict) else None
        if peer is None or not isinstance(line, str) or not line:
            return
        with contextlib.suppress(Exception):  # a malformed candidate is just not used
            candidate = candidate_from_sdp(line.removeprefix("candidate:"))
            candidate.sdpMid = init.get("sdpMid")
            candidate.sdpMLineIndex = init.get("sdpMLineIndex")
            await peer.pc.addIceCandidate(candidate)

    async def leave(self, account: str) -> None:
        """A participant's relay connection ends: the others stop receiving their media."""
        async with self.lock:
            await self._leave(account)

    async def _leave(self, account: str) -> None:
        peer = self.peers.pop(account, None)
        if peer is None:
            return
        with contextlib.suppress(Exception):
            await peer.pc.close()
        for other in list(self.peers.values()):
            await self._sync(other)

    async def _sync(self, peer: Peer, *, force: bool = False) -> None:
        """Make `peer` carry exactly the others' current tracks, renegotiating if that changed."""
        wanted = {
            (other.account, kind): track
            for other in self.peers.values()
            if other is not peer
            for kind, track in other.sources.items()
        }
        changed = force
        carried = set()
        for slot in peer.slots:
            if slot.source is not None and (slot.source, slot.kind) not in wanted:
                old = slot.transceiver.sender.track
                slot.transceiver.sender.replaceTrack(None)
                if old is not None:
                    old.stop()  # ends its relay subscription
                slot.transceiver.direction = "inactive"
                slot.source, changed = None, True
            elif slot.source is not None:
                carried.add((slot.source, slot.kind))
        for (source, kind), track in wanted.items():
            if (source, kind) in carried:
                continue
            free = next((s for s in peer.slots if s.source is None and s.kind == kind), None)
            if free is None:
                transceiver = peer.pc.addTransceiver(self._subscribe(track), direction="sendonly")
                peer.slots.append(Slot(transceiver, kind, source))
            else:
                old = free.transceiver.sender.track
                if old is not None:
                    old.stop()
                free.transceiver.sender.replaceTrack(self._subscribe(track))
                free.transceiver.direction = "sendonly"
                free.source, transceiver = source, free.transceiver
            transceiver.sender._stream_id = source  # the msid names whose media it is
            changed = True
        if changed:
            await self._renegotiate(peer)

    async def _renegotiate(self, peer: Peer) -> None:
        if peer.awaiting_answer:  # one offer at a time; the next one follows the answer
            peer.again = True
            return
        if peer.pc.signalingState == "closed" or peer.pc.connectionState in ("closed", "failed"):
            return  # it is leaving too; its own state change removes it
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        peer.awaiting_answer = True
        tracks = {
            slot.transceiver.mid: {"account_id": slot.source, "kind": slot.kind}
            for slot in peer.slots
            if slot.source is not None and slot.transceiver.mid is not None
        }
        await self.send(
            {
                "type": "offer",
                "to": peer.account,
                "from": RELAY,
                "sdp": peer.pc.localDescription.sdp,
                "tracks": tracks,
            }
        )

    @property
    def senders(self) -> frozenset[str]:
        """Who is sending media to the relay now."""
        return frozenset(p.account for p in self.peers.values() if p.sources)

    async def record(self, path: Path) -> frozenset[str]:
        """Start a recording segment of everyone sending media now; returns who is in it."""
        await self.stop_recording()
        path.parent.mkdir(parents=True, exist_ok=True)
        recorder = MediaRecorder(str(path), format="matroska")
        for peer in self.peers.values():
            for track in peer.sources.values():
                recorder.addTrack(self._subscribe(track))
        await recorder.start()
        self.segment = Segment(recorder, path, self.senders)
        return self.segment.participants

    async def stop_recording(self) -> int | None:
        """Stop the running segment at once; returns the file's size (None if none ran)."""
        segment, self.segment = self.segment, None
        if segment is None:
            return None
        try:
            await segment.recorder.stop()
        except Exception:  # the file may be cut short, never left running
            log.exception("recording segment did not close cleanly")
        return segment.path.stat().st_size if segment.path.exists() else 0

    async def close(self) -> None:
        await self.stop_recording()
        for account in list(self.peers):
            peer = self.peers.pop(account)
            with contextlib.suppress(Exception):
                await peer.pc.close()
        await asyncio.sleep(0)
