"""Server-relayed media for one consult: each participant connects to an aiortc peer here, which
forwards everyone else's tracks to them through MediaRelay, with the video capped.

aiortc decodes what it receives and re-encodes what it sends, so relayed video costs CPU: the
cap (size and frame rate) bounds it. Recording uses the same tracks with aiortc's MediaRecorder.

The relay never makes an offer (aiortc renumbers codecs and header extensions in every offer it
makes, which browsers refuse in a renegotiation): each client offers, sending its own media and
receiving on `recvonly` transceivers, the relay's "slots". The relay puts whoever it likes on a
slot without renegotiating and says so with a `tracks` message (mid -> account and kind); when a
client has too few slots it is asked for more with `renegotiate`, and it offers again. Signaling
goes through `send` (the room's broker).
"""

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaBlackhole, MediaRecorder, MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription, candidate_from_sdp

from telehealth.consults import rules

log = logging.getLogger(__name__)

RELAY = "relay"  # the relay's name as a signaling participant
FRAME = Fraction(1, 30)  # the gap left at a switch of video source
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


def _copy_planes(source: Any, target: Any) -> None:
    for src, dst in zip(source.planes, target.planes, strict=True):
        if not hasattr(src, "line_size") or src.line_size == dst.line_size:
            memoryview(dst)[: min(src.buffer_size, dst.buffer_size)] = memoryview(src)[
                : min(src.buffer_size, dst.buffer_size)
            ]
            continue
        width, out, into = min(src.line_size, dst.line_size), memoryview(src), memoryview(dst)
        for row in range(src.height):
            into[row * dst.line_size : row * dst.line_size + width] = out[
                row * src.line_size : row * src.line_size + width
            ]


def restamped(frame: Any, pts: int) -> Any:
    """A copy of `frame` at another time. Relayed frames are shared by every subscriber, so one
    subscriber's timeline must never be written into them."""
    if isinstance(frame, av.VideoFrame):
        copy: Any = av.VideoFrame(frame.width, frame.height, frame.format.name)
    else:
        copy = av.AudioFrame(
            format=frame.format.name, layout=frame.layout.name, samples=frame.samples
        )
        copy.sample_rate = frame.sample_rate
    _copy_planes(frame, copy)
    copy.pts, copy.time_base = pts, frame.time_base
    return copy


def _settled(future: asyncio.Future[Any]) -> None:
    """A frame nobody waits for any more: its end (an error, if any) is noted, not logged."""
    if not future.cancelled():
        future.exception()


class SlotTrack(MediaStreamTrack):
    """What one slot sends: the media of whoever is on it now, switched without renegotiating.
    It never ends, so the slot's sender keeps running from one person to the next, and its
    timestamps keep going forward across a switch (an encoder refuses time going back)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: MediaStreamTrack | None = None
        self.switched: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last: Fraction | None = None  # the last frame's time on this slot's timeline
        self.shift: Fraction | None = None  # from the current source's time to this timeline

    def switch(self, source: MediaStreamTrack | None) -> None:
        old, self.source, self.shift = self.source, source, None
        if old is not None:
            old.stop()
        if not self.switched.done():
            self.switched.set_result(None)
        self.switched = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        while True:
            source, switched = self.source, self.switched
            if source is None:
                await switched
                continue
            frame: asyncio.Future[Any] = asyncio.ensure_future(source.recv())
            either: set[asyncio.Future[Any]] = {frame, switched}
            try:
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not frame.done():  # someone else is on the slot now, or we are stopping
                    frame.cancel()
                    frame.add_done_callback(_settled)
            if not frame.done():
                continue
            try:
                return self._on_timeline(frame.result())
            except MediaStreamError:  # their media ended: wait for the next person
                if self.source is source:
                    await switched

    def _on_timeline(self, frame: Any) -> Any:
        if frame.pts is None or not frame.time_base:
            return frame
        at = frame.pts * Fraction(frame.time_base)
        if self.shift is None:  # a new person: carry on a frame after the last one
            step = Fraction(frame.samples, frame.sample_rate) if self.kind == "audio" else None
            self.shift = Fraction(0) if self.last is None else self.last + (step or FRAME) - at
        moved = at + self.shift
        if self.last is not None and moved <= self.last:
            moved = self.last + Fraction(frame.time_base)
        self.last = moved
        if moved == at:
            return frame
        return restamped(frame, int(moved / Fraction(frame.time_base)))

    def stop(self) -> None:
        self.switch(None)
        super().stop()


@dataclass
class Slot:
    """A transceiver on which a client receives, and whose media it carries now (None: free)."""

    transceiver: RTCRtpTransceiver
    kind: str
    track: SlotTrack
    source: str | None = None


@dataclass
class Peer:
    account: str
    pc: RTCPeerConnection
    sources: dict[str, MediaStreamTrack] = field(default_factory=dict)  # kind -> their track
    drains: list[MediaBlackhole] = field(default_factory=list)
    starting: set[asyncio.Future[None]] = field(default_factory=set)
    slots: list[Slot] = field(default_factory=list)
    asked: dict[str, int] = field(default_factory=dict)  # the slots last asked for, by kind


@dataclass
class Segment:
    recorder: MediaRecorder
    path: Path
    participants: frozenset[str]
    sources: frozenset[MediaStreamTrack]  # the tracks recorded: a reconnect brings new ones
    tracks: list[MediaStreamTrack]


def _ufrag(sdp: str) -> str | None:
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            return line.split(":", 1)[1].strip()
    return None


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
        """A participant's offer: on a new connection (a first offer, a reload, an ICE restart)
        a fresh peer answers; on their current connection it adds the slots they were asked
        for. Everyone's slots are then filled with the others' media."""
        async with self.lock:
            await self._offer(account, sdp)

    async def _offer(self, account: str, sdp: str) -> None:
        peer = self.peers.get(account)
        if peer is None or not self._same_connection(peer, sdp):
            await self._leave(account)
            peer = self._peer(account)
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            self._adopt_slots(peer, sdp)
            self._fill(peer)
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except Exception:  # aiortc raises several kinds for an unusable SDP
            if self.peers.get(account) is not peer:
                await peer.pc.close()
            await self._error(account, "invalid-offer", "the relay cannot use this offer")
            return
        self.peers[account] = peer
        peer.asked = {}
        answer = {
            "type": "answer",
            "to": account,
            "from": RELAY,
            "sdp": peer.pc.localDescription.sdp,
        }
        await self.send(answer | {"tracks": self._tracks(peer)})
        await self._ask_for_slots(peer)
        for other in list(self.peers.values()):
            if other is not peer:
                await self._sync(other)

    @staticmethod
    def _same_connection(peer: Peer, sdp: str) -> bool:
        """A renegotiation on the connection the relay already has (same ICE credentials)."""
        current = peer.pc.remoteDescription
        return (
            current is not None
            and peer.pc.connectionState not in ("closed", "failed")
            and _ufrag(sdp) == _ufrag(current.sdp)
        )

    def _peer(self, account: str) -> Peer:
        config = RTCConfiguration([RTCIceServer(**server) for server in self.ice_servers()])
        pc = RTCPeerConnection(config)
        peer = Peer(account, pc)

        @pc.on("track")
        def _incoming(track: MediaStreamTrack) -> None:
            peer.sources[track.kind] = track
            # Read what arrives even while nobody receives it (someone alone in the room),
            # or aiortc queues every frame in memory.
            drain = MediaBlackhole()
            drain.addTrack(self.relay.subscribe(track, buffered=False))
            peer.drains.append(drain)
            peer.starting.add(task := asyncio.ensure_future(drain.start()))
            task.add_done_callback(peer.starting.discard)

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

        return peer

    def _adopt_slots(self, peer: Peer, sdp: str) -> None:
        """The m-lines on which the client only receives become slots the relay sends on."""
        receiving = {
            media.rtp.muxId
            for media in SessionDescription.parse(sdp).media
            if media.kind in ("audio", "video") and media.direction == "recvonly"
        }
        known = {id(slot.transceiver) for slot in peer.slots}
        for transceiver in peer.pc.getTransceivers():
            if transceiver.mid in receiving and id(transceiver) not in known:
                track = SlotTrack(transceiver.kind)
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
                peer.slots.append(Slot(transceiver, transceiver.kind, track))

    def _fill(self, peer: Peer) -> bool:
        """Put the others' media on `peer`'s slots; whether what it receives changed."""
        wanted = {
            (other.account, kind): track
            for other in self.peers.values()
            if other is not peer
            for kind, track in other.sources.items()
        }
        changed = False
        for slot in peer.slots:
            if slot.source is not None and (slot.source, slot.kind) not in wanted:
                slot.track.switch(None)
                slot.source, changed = None, True
        carried = {(slot.source, slot.kind) for slot in peer.slots if slot.source is not None}
        for (source, kind), track in wanted.items():
            if (source, kind) in carried:
                continue
            free = next((s for s in peer.slots if s.source is None and s.kind == kind), None)
            if free is not None:
                free.track.switch(self._subscribe(track))
                free.source, changed = source, True
        return changed

    @staticmethod
    def _tracks(peer: Peer) -> dict[str, dict[str, str]]:
        return {
            str(slot.transceiver.mid): {"account_id": slot.source, "kind": slot.kind}
            for slot in peer.slots
            if slot.source is not None
        }

    async def _ask_for_slots(self, peer: Peer) -> None:
        """Ask the client to offer again with enough receiving slots for everyone else."""
        needed = {"audio": 0, "video": 0}
        for other in self.peers.values():
            if other is not peer:
                for kind in other.sources:
                    needed[kind] += 1
        have = {kind: sum(1 for s in peer.slots if s.kind == kind) for kind in needed}
        if any(needed[kind] > have[kind] for kind in needed) and needed != peer.asked:
            peer.asked = needed
            await self.send({"type": "renegotiate", "to": peer.account, "from": RELAY} | needed)

    async def _sync(self, peer: Peer) -> None:
        if self._fill(peer):
            tracks = self._tracks(peer)
            await self.send({"type": "tracks", "to": peer.account, "from": RELAY, "tracks": tracks})
        await self._ask_for_slots(peer)

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
        await self._hang_up(peer)
        for other in list(self.peers.values()):
            await self._sync(other)

    async def _hang_up(self, peer: Peer) -> None:
        for slot in peer.slots:
            slot.track.stop()
        for drain in peer.drains:
            await drain.stop()
        with contextlib.suppress(Exception):
            await peer.pc.close()
        _stop_reading(self.relay, peer.sources.values())

    @property
    def senders(self) -> frozenset[str]:
        """Who is sending media to the relay now."""
        return frozenset(p.account for p in self.peers.values() if p.sources)

    @property
    def sources(self) -> frozenset[MediaStreamTrack]:
        """The tracks arriving now (a participant who reconnects brings new ones)."""
        return frozenset(t for p in self.peers.values() for t in p.sources.values())

    async def record(self, path: Path, senders: frozenset[str]) -> frozenset[str]:
        """Start a recording segment of these people's media (those the decision to record
        was made on); returns who is in it. The file is readable by this service only."""
        await self.stop_recording()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        recorder = MediaRecorder(str(path), format="matroska")
        tracks: list[MediaStreamTrack] = []
        recorded: set[MediaStreamTrack] = set()
        for peer in self.peers.values():
            if peer.account not in senders:
                continue
            for source in peer.sources.values():
                track = self._subscribe(source)
                recorder.addTrack(track)
                tracks.append(track)
                recorded.add(source)
        await recorder.start()
        who = frozenset(p.account for p in self.peers.values() if p.account in senders)
        self.segment = Segment(recorder, path, who, frozenset(recorded), tracks)
        return who

    async def stop_recording(self) -> int | None:
        """Stop the running segment at once; returns the file's size (None if none ran)."""
        segment, self.segment = self.segment, None
        if segment is None:
            return None
        try:
            await segment.recorder.stop()
        except Exception:  # the file may be cut short, never left running
            log.exception("recording segment did not close cleanly")
        for track in segment.tracks:
            track.stop()  # its relay subscriptions end with it
        return segment.path.stat().st_size if segment.path.exists() else 0

    async def close(self) -> None:
        await self.stop_recording()
        for account in list(self.peers):
            await self._hang_up(self.peers.pop(account))


def _stop_reading(relay: MediaRelay, sources: Iterable[MediaStreamTrack]) -> None:
    """aiortc's MediaRelay reads each source until the source ends, and a closed connection
    ends it only later, from its decoder thread: a room closed meanwhile leaves the reader
    waiting, and it is destroyed pending (logged as an error). A source whose connection is
    closed has nothing more to read: its subscribers are told it ended (as the reader tells them
    when the source ends), and its reader is cancelled and forgotten."""
    tasks: dict[MediaStreamTrack, asyncio.Task[None]] = getattr(relay, "_MediaRelay__tasks", {})
    proxies: dict[MediaStreamTrack, set[Any]] = getattr(relay, "_MediaRelay__proxies", {})
    for source in list(sources):
        task = tasks.pop(source, None)
        if task is None:
            continue  # its reader has ended already
        task.cancel()
        for proxy in proxies.pop(source, set()):
            if proxy._buffered:
                proxy._queue.put_nowait(None)
            else:
                proxy._frame = None
                proxy._new_frame_event.set()
