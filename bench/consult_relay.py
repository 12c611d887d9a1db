"""What a consult costs the server when its media goes through the relay (a section of
bench/consults.py, on its single worker with the shipped cap: 640×480 at 15 frames a second).

Each relayed consult is a doctor and a patient, each an aiortc peer sending audio and 640×480
video to the server's relay and receiving the other's through it. Once media flows both ways,
the server's CPU is read over a window, for one consult and then for several at once, beside
the same server idle: aiortc decodes what it receives and re-encodes what it sends, which is
why ordinary 1:1 video stays peer to peer. The clients run in this process on the same cores.
"""

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from bench.consults import Consult, Participant, Rig, _configuration, _room
from bench.live_server import Server, cpu_seconds

WINDOW_SECONDS = 10.0
AT_ONCE = (1, 2)  # relayed consults running together in each measurement
CONSULTS = sum(AT_ONCE)


@dataclass
class RelayPeer:
    """One participant's connection to the relay, offering more slots when asked."""

    who: Participant
    pc: RTCPeerConnection
    frames: Counter[str] = field(default_factory=Counter)  # video frames received
    sizes: set[tuple[int, int]] = field(default_factory=set)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def _signal(self) -> None:
        """The relay answers, says whose media is on which slot, and asks for more slots."""
        asked: dict[str, int] | None = None
        async for raw in self.who.socket:
            message = json.loads(raw)
            if message.get("from") != "relay":
                continue
            if message["type"] == "answer":
                await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
            elif message["type"] == "renegotiate":
                asked = {"audio": message["audio"], "video": message["video"]}
            if asked is not None and self.pc.signalingState == "stable":
                async with asyncio.timeout(30):  # aiortc cannot add transceivers while connecting
                    await self.connected.wait()
                for kind, wanted in asked.items():
                    have = [t for t in self.pc.getTransceivers() if t.direction == "recvonly"]
                    for _ in range(wanted - sum(1 for t in have if t.kind == kind)):
                        self.pc.addTransceiver(kind, direction="recvonly")
                asked = None
                await self._offer()

    async def _offer(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": "offer", "to": "relay", "sdp": self.pc.localDescription.sdp}
        await self.who.socket.send(json.dumps(offer))

    async def _count(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.frames["video"] += 1
                    self.sizes.add((frame.width, frame.height))

    async def start(self) -> None:
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(VideoStreamTrack())  # 640×480 at 30 frames a second

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState == "connected":
                self.connected.set()

        self.pc.on(
            "track", lambda track: self.tasks.append(asyncio.create_task(self._count(track)))
        )
        self.tasks.append(asyncio.create_task(self._signal()))
        await self._offer()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.pc.close()


async def _relayed(
    stack: contextlib.AsyncExitStack, consult: Consult, server: Server
) -> list[RelayPeer]:
    """A consult switched to the relay, both people connected to it."""
    doctor, patient = await stack.enter_async_context(_room(consult, server, server))
    async with httpx.AsyncClient(base_url=server.base, trust_env=False, timeout=30) as http:
        switched = await http.put(
            f"/v1/appointments/{consult.id}/consult/mode",
            json={"mode": "relay"},
            headers={"Authorization": f"Bearer {consult.doctor_token}"},
        )
        switched.raise_for_status()
    peers = []
    for who in (doctor, patient):
        peer = RelayPeer(who, RTCPeerConnection(_configuration(who.joined)))
        stack.push_async_callback(peer.close)
        await peer.start()
        peers.append(peer)
    return peers


async def _flowing(peers: list[RelayPeer], seconds: float = 30) -> bool:
    """Wait until every peer receives the other's video through the relay."""
    for _ in range(int(seconds * 10)):
        if all(p.frames["video"] >= 10 for p in peers):
            return True
        await asyncio.sleep(0.1)
    return False


async def _window(server: Server, peers: list[RelayPeer]) -> tuple[float, float]:
    """The server's CPU (cores) and the video frames a second each peer receives, over the
    measuring window."""
    before = cpu_seconds([server]), [p.frames["video"] for p in peers]
    started = time.perf_counter()
    await asyncio.sleep(WINDOW_SECONDS)
    seconds = time.perf_counter() - started
    cores = (cpu_seconds([server]) - before[0]) / seconds
    fps = [(p.frames["video"] - n) / seconds for p, n in zip(peers, before[1], strict=True)]
    return cores, sum(fps) / len(fps) if fps else 0.0


async def relay_cost(rig: Rig) -> None:
    server = rig.alone
    print(
        f"the single worker, relay cap as shipped (640×480, 15 fps); each consult a doctor and a "
        f"patient sending audio and 640×480 video at 30 fps; server CPU over {WINDOW_SECONDS:.0f}"
        " s once media flows both ways"
    )
    idle, _ = await _window(server, [])
    print(
        f"  {'relayed consults at once':<26} {'server cores':>12} {'per consult':>12} "
        f"{'fps received':>13} {'sizes':>10}"
    )
    print(f"  {'0 (idle)':<26} {idle:12.3f} {'':>12} {'':>13} {'':>10}")
    per_consult = []
    for count in AT_ONCE:
        async with contextlib.AsyncExitStack() as stack:
            peers = [p for _ in range(count) for p in await _relayed(stack, rig.take(), server)]
            if not await _flowing(peers):
                print(f"  {count}: media did not flow both ways through the relay in 30 s")
                continue
            cores, fps = await _window(server, peers)
            each = (cores - idle) / count
            per_consult.append(each)
            sizes = ",".join(sorted(f"{w}×{h}" for w, h in set().union(*(p.sizes for p in peers))))
            print(f"  {count:<26} {cores:12.3f} {each:12.3f} {fps:13.1f} {sizes:>10}")
    if per_consult:
        print(
            f"  one relayed consult costs about {max(per_consult):.2f} of a core here; a peer-to-"
            "peer consult costs the server only its signaling messages"
        )
