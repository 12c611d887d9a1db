"""The pre-call check: the server answers a caller's offer with an aiortc peer that echoes their
audio and video back and reports what it measures over a data channel."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from telehealth.consults import rules
from telehealth.consults.errors import InvalidOffer

Store = Callable[[rules.LinkQuality, bool | None], Awaitable[None]]


def _relayed(pc: RTCPeerConnection) -> bool | None:
    """Whether the selected ICE pair goes through a TURN relay (None if not known yet)."""
    try:
        for transceiver in pc.getTransceivers():
            ice = transceiver.receiver.transport.transport
            for pair in ice._connection._nominated.values():  # aioice's selected pairs
                return bool(
                    pair.local_candidate.type == "relay" or pair.remote_candidate.type == "relay"
                )
    except AttributeError:
        return None
    return None


async def _sample(pc: RTCPeerConnection) -> rules.LinkSample:
    report = await pc.getStats()
    received = lost = bytes_in = 0
    jitter: float | None = None
    rtt: float | None = None
    for stats in report.values():
        kind = getattr(stats, "type", "")
        if kind == "inbound-rtp":
            received += stats.packetsReceived
            lost += max(0, stats.packetsLost)
            if stats.kind == "audio":
                jitter = stats.jitter / 48  # RTP timestamp units at 48 kHz -> ms
        elif kind == "remote-inbound-rtp" and stats.roundTripTime:
            rtt = stats.roundTripTime * 1000
        elif kind == "transport":
            bytes_in = max(bytes_in, stats.bytesReceived)
    return rules.LinkSample(time.monotonic(), bytes_in, received, lost, jitter, rtt)


class Precheck:
    """One caller's check: lives `seconds`, reports each second, then stores its result."""

    def __init__(self, ice_servers: list[dict[str, Any]], seconds: float, store: Store) -> None:
        config = RTCConfiguration([RTCIceServer(**server) for server in ice_servers])
        self.pc = RTCPeerConnection(config)
        self.relay = MediaRelay()
        self.seconds = seconds
        self.store = store
        self.id = uuid.uuid4()
        self.channel: Any = None

        @self.pc.on("track")
        def _echo(track: Any) -> None:
            self.pc.addTrack(self.relay.subscribe(track))

        @self.pc.on("datachannel")
        def _channel(channel: Any) -> None:
            self.channel = channel

    async def answer(self, offer_sdp: str) -> str:
        """The answer to a caller's offer; InvalidOffer if it is not a usable SDP offer."""
        if not offer_sdp.startswith("v=0") or "\nm=" not in offer_sdp:
            await self.pc.close()
            raise InvalidOffer()
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:  # aiortc raises several kinds for a bad SDP
            await self.pc.close()
            raise InvalidOffer() from exc
        return str(self.pc.localDescription.sdp)

    async def run(self) -> None:
        """Report every second, then store the last measurement and hang up."""
        try:
            first = await _sample(self.pc)
            last_quality: rules.LinkQuality | None = None
            deadline = time.monotonic() + self.seconds
            while time.monotonic() < deadline and self.pc.connectionState not in (
                "failed",
                "closed",
            ):
                await asyncio.sleep(1)
                last_quality = rules.quality(first, await _sample(self.pc))
                if self.channel is not None and self.channel.readyState == "open":
                    report = {**asdict(last_quality), "relayed": _relayed(self.pc)}
                    self.channel.send(json.dumps({"type": "precheck", **report}))
            if last_quality is not None:
                await self.store(last_quality, _relayed(self.pc))
        finally:
            with contextlib.suppress(Exception):
                await self.pc.close()
