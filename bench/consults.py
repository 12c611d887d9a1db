"""Consults: how fast the signaling socket carries a message, in one worker and across two
through Redis, and how long two real WebRTC peers take to connect through it.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust auth); without it, says so and returns. A
scratch database `tequio_bench_<random>` is created, migrated (`tequio migrate`) and seeded
directly: bylaws, an admin, and a doctor and a patient for each consult. Servers run as
`tequio serve` processes of one worker each: one alone (the in-process broker) and, when Redis
answers on 127.0.0.1:6379, two sharing it (db 0). Each patient signs in and books their doctor's
first open slot through the API; the appointments are then moved to start in five minutes, so
the rooms (open from 15 minutes before the start) are open, as the tests' `consult_soon` does.
Servers are stopped and the database dropped whatever happens. Nothing here asserts a time.

Each measurement is one async function in `sections()`, given a `Rig` (the servers, and
consults ready to join); a new one is a function and a line there. The relay's cost is measured
in bench/consult_relay.py.

- Signaling latency: the doctor joins and the patient, admitted, sends a steady stream of `chat`
  messages carrying their send time; the doctor's socket notes when each arrives. The same over
  one worker, one worker with the Redis broker, and two workers through Redis (doctor on one,
  patient on the other). The flood limit is raised for this (FLOOD_LIMIT below), and said so.
- Peers connecting: a doctor and a patient, each a real aiortc RTCPeerConnection with audio and
  video, exchange offer and answer through the signaling socket (ICE servers as `join` returns
  them: none here, so host candidates only); times from the doctor's createOffer to each peer's
  connectionState "connected" and to the first video frame each receives.

Client, servers, PostgreSQL and Redis share the machine's cores: the figures are the machine's.
"""

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from websockets.asyncio.client import ClientConnection, connect

from app.db import create_engine, create_sessionmaker
from bench.live_server import (
    People,
    Server,
    answers,
    cpu_seconds,
    machine_cpu_seconds,
    scratch_database,
    seed,
    serving,
    sign_in,
)
from cooperative.kernel import clock
from telehealth.scheduling.models import Appointment

REDIS_URL = "redis://127.0.0.1:6379/0"
STARTS_IN = timedelta(minutes=5)
# The shipped limit is 20 messages a second (bursts of 60) per socket; a steady stream of
# RATE a second needs more, and only the stream's own pace should shape its latency.
FLOOD_LIMIT = {"signal_messages_per_second": "1000", "signal_burst": "1000"}
MESSAGES = 2_000
WARM_UP = 100
ROUNDS = 4
RATE = 100  # messages a second: the servers stay well below saturation (see server CPU)
CALLS = 10
CALL_TIMEOUT = 30.0


@dataclass
class Consult:
    """A booked consult whose room is open, and its two people's access tokens."""

    id: str
    doctor_id: str
    patient_id: str
    doctor_token: str
    patient_token: str


@dataclass
class Rig:
    """What every section measures on."""

    alone: Server  # one worker, the in-process broker
    redis: tuple[Server, Server] | None  # two workers sharing Redis, when it answers
    consults: list[Consult]

    def take(self) -> Consult:
        """A consult nobody has joined yet."""
        return self.consults.pop()


@dataclass
class Participant:
    socket: ClientConnection
    joined: dict[str, Any]  # the answer to POST …/consult/join


def _percentile(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def _next(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of `kind`, skipping the others (within ten seconds)."""
    async with asyncio.timeout(10):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message["type"] == kind:
                return message


async def _enter(
    stack: contextlib.AsyncExitStack, server: Server, consult_id: str, access_token: str
) -> Participant:
    """Join the consult on `server` and open the signaling socket there; welcomed."""
    async with httpx.AsyncClient(base_url=server.base, trust_env=False, timeout=30) as http:
        response = await http.post(
            f"/v1/appointments/{consult_id}/consult/join",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        response.raise_for_status()
    joined: dict[str, Any] = response.json()
    url = f"ws://{server.host}{joined['signal_url']}?token={joined['consult_token']}"
    socket = await stack.enter_async_context(connect(url, proxy=None))
    await _next(socket, "welcome")
    return Participant(socket, joined)


@contextlib.asynccontextmanager
async def _room(
    consult: Consult, doctor_at: Server, patient_at: Server
) -> AsyncIterator[tuple[Participant, Participant]]:
    """The doctor and the patient on their signaling sockets, the patient admitted."""
    async with contextlib.AsyncExitStack() as stack:
        doctor = await _enter(stack, doctor_at, consult.id, consult.doctor_token)
        patient = await _enter(stack, patient_at, consult.id, consult.patient_token)
        while (await _next(doctor.socket, "presence")).get("event") != "waiting":
            pass
        await doctor.socket.send(json.dumps({"type": "admit", "account_id": consult.patient_id}))
        while (await _next(patient.socket, "presence")).get("event") != "admitted":
            pass
        yield doctor, patient


@dataclass
class Stream:
    latencies_ms: list[float] = field(default_factory=list)
    lost: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # what the sender was told
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0  # the servers' processes
    machine_cpu_seconds: float = 0.0  # every process on the machine, this client's and others'

    def __iadd__(self, other: "Stream") -> "Stream":
        self.latencies_ms += other.latencies_ms
        self.lost += other.lost
        self.errors += other.errors
        self.seconds += other.seconds
        self.server_cpu_seconds += other.server_cpu_seconds
        self.machine_cpu_seconds += other.machine_cpu_seconds
        return self


async def _stream(
    sender: ClientConnection, receiver: ClientConnection, count: int, servers: list[Server]
) -> Stream:
    """`count` chat messages at RATE a second, each carrying its send time; the latency of each
    as the receiver sees it (messages not there 10 s after the last was sent are lost)."""
    stream = Stream()
    tag = uuid.uuid4().hex[:8]  # this stream's messages, not a late one from another
    all_in = asyncio.Event()

    async def receive() -> None:
        async for raw in receiver:
            message = json.loads(raw)
            if message["type"] == "chat" and message["text"].startswith(tag):
                sent_ns = int(message["text"].split()[2])
                stream.latencies_ms.append((time.perf_counter_ns() - sent_ns) / 1e6)
                if len(stream.latencies_ms) == count:
                    all_in.set()

    async def hear_errors() -> None:
        async for raw in sender:
            message = json.loads(raw)
            if message["type"] == "error":
                stream.errors[message["code"]] += 1

    listeners = [asyncio.create_task(receive()), asyncio.create_task(hear_errors())]
    server_cpu, machine_cpu = cpu_seconds(servers), machine_cpu_seconds()
    started = time.perf_counter()
    try:
        for n in range(count):
            delay = started + n / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            text = f"{tag} {n} {time.perf_counter_ns()}"
            await sender.send(json.dumps({"type": "chat", "text": text}))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await all_in.wait()
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    stream.lost = count - len(stream.latencies_ms)
    stream.seconds = time.perf_counter() - started
    stream.server_cpu_seconds = cpu_seconds(servers) - server_cpu
    stream.machine_cpu_seconds = machine_cpu_seconds() - machine_cpu
    return stream


def _stream_row(label: str, stream: Stream) -> str:
    got = stream.latencies_ms
    errors = ", ".join(f"{code} × {n}" for code, n in stream.errors.items()) or "0"
    times = [*(_percentile(got, p) for p in (50, 90, 99)), max(got)] if got else []
    cpu = stream.server_cpu_seconds * 1000 / len(got) if got else float("nan")
    busy = stream.machine_cpu_seconds / stream.seconds
    return (
        f"  {label:<30} {len(got):>8,}{''.join(f'{t:9.2f}' for t in times) or ' ' * 36} "
        f"{stream.lost:>5} {errors:>6} {cpu:7.2f} {busy:7.2f}"
    )


async def signaling_latency(rig: Rig) -> None:
    """One side sends, the other measures: one worker, then two through Redis, taking turns."""
    print(
        f"{MESSAGES:,} chat messages a row, patient → doctor, at a steady {RATE}/s after "
        f"{WARM_UP} to warm up, in {ROUNDS} rounds taking turns (so other load on the machine "
        f"falls on every row alike). Flood limit raised for the benchmark to "
        f"{FLOOD_LIMIT['signal_messages_per_second']}/s, bursts of "
        f"{FLOOD_LIMIT['signal_burst']} (TEQUIO_SIGNAL_MESSAGES_PER_SECOND, "
        f"TEQUIO_SIGNAL_BURST; shipped: 20/s, bursts of 60)"
    )
    setups = [("one worker, in-process broker", rig.alone, rig.alone)]
    if rig.redis is not None:
        first, second = rig.redis
        setups += [
            ("one worker, Redis broker", first, first),
            ("two workers through Redis", first, second),
        ]
    streams = {label: Stream() for label, _, _ in setups}
    async with contextlib.AsyncExitStack() as stack:
        rooms = []
        for label, doctor_at, patient_at in setups:
            doctor, patient = await stack.enter_async_context(
                _room(rig.take(), doctor_at, patient_at)
            )
            servers = list({id(s): s for s in (doctor_at, patient_at)}.values())
            await _stream(patient.socket, doctor.socket, WARM_UP, servers)
            rooms.append((label, patient.socket, doctor.socket, servers))
        for _ in range(ROUNDS):
            for label, sender, receiver, servers in rooms:
                streams[label] += await _stream(sender, receiver, MESSAGES // ROUNDS, servers)
    print(
        f"  {'':<30} {'received':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'lost':>5} {'errors':>6} {'server':>7} {'machine':>7}"
    )
    for label, stream in streams.items():
        print(_stream_row(label, stream))
    print(
        "  server: the servers' CPU ms per message; machine: cores busy meanwhile (of "
        f"{os.cpu_count()}, every process: servers, PostgreSQL, Redis, this client, others')"
    )
    if rig.redis is None:
        print("  Redis does not answer on 127.0.0.1:6379: the rows through Redis are not measured")
        return
    alone = streams[setups[0][0]].latencies_ms
    across = streams[setups[-1][0]].latencies_ms
    if alone and across:
        p50, p99 = (_percentile(across, p) / _percentile(alone, p) for p in (50, 99))
        print(f"  two workers through Redis / one worker alone: p50 ×{p50:.2f}, p99 ×{p99:.2f}")


def _configuration(joined: dict[str, Any]) -> RTCConfiguration:
    """The ICE servers `join` gave, as a browser would use them. An empty list, not None:
    aiortc would otherwise fall back to a public Google STUN server."""
    return RTCConfiguration([RTCIceServer(**server) for server in joined["ice_servers"]])


CALL_MILESTONES = [
    "offer sent (createOffer + ICE gathering)",
    "answer back at the doctor",
    "doctor connected",
    "patient connected",
    "first video frame at the doctor",
    "first video frame at the patient",
]


@dataclass
class Call:
    """Seconds from the doctor's createOffer to each milestone."""

    started: float = field(default_factory=time.perf_counter)
    marks: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.perf_counter() - self.started)
        if all(name in self.marks for name in CALL_MILESTONES[-4:]):
            self.done.set()


async def _consume(track: Any, first: Callable[[], None]) -> None:
    with contextlib.suppress(MediaStreamError):
        await track.recv()
        first()
        while True:
            await track.recv()


def _peer(name: str, joined: dict[str, Any], call: Call, tasks: list[asyncio.Task[None]]) -> Any:
    pc = RTCPeerConnection(_configuration(joined))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())

    @pc.on("connectionstatechange")
    def _state() -> None:
        if pc.connectionState == "connected":
            call.mark(f"{name} connected")

    @pc.on("track")
    def _track(track: Any) -> None:
        def first() -> None:
            if track.kind == "video":
                call.mark(f"first video frame at the {name}")

        tasks.append(asyncio.create_task(_consume(track, first)))

    return pc


async def _send_sdp(socket: ClientConnection, kind: str, to: str, sdp: str) -> None:
    await socket.send(json.dumps({"type": kind, "to": to, "sdp": sdp}))


async def _offer_answer(
    consult: Consult, doctor: Participant, patient: Participant, pcs: tuple[Any, Any], call: Call
) -> None:
    """The doctor offers and the patient answers, through the signaling sockets."""
    doctor_pc, patient_pc = pcs
    call.started = time.perf_counter()
    await doctor_pc.setLocalDescription(await doctor_pc.createOffer())
    await _send_sdp(doctor.socket, "offer", consult.patient_id, doctor_pc.localDescription.sdp)
    call.mark(CALL_MILESTONES[0])
    offer = await _next(patient.socket, "offer")
    await patient_pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
    await patient_pc.setLocalDescription(await patient_pc.createAnswer())
    await _send_sdp(patient.socket, "answer", consult.doctor_id, patient_pc.localDescription.sdp)
    answer = await _next(doctor.socket, "answer")
    call.mark(CALL_MILESTONES[1])
    await doctor_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))


async def _call(consult: Consult, server: Server) -> Call:
    async with _room(consult, server, server) as (doctor, patient):
        tasks: list[asyncio.Task[None]] = []
        call = Call()
        pcs = (
            _peer("doctor", doctor.joined, call, tasks),
            _peer("patient", patient.joined, call, tasks),
        )
        try:
            with contextlib.suppress(TimeoutError):  # a call that never connects
                await _offer_answer(consult, doctor, patient, pcs, call)
                async with asyncio.timeout(CALL_TIMEOUT):
                    await call.done.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for pc in pcs:
                await pc.close()
        return call


async def peers_connecting(rig: Rig) -> None:
    """CALLS consults, one after another, on the single worker."""
    print(
        f"{CALLS} consults, one after another, through the single worker: a doctor and a "
        "patient, each an aiortc RTCPeerConnection with an audio and a video track "
        "(640×480 VP8), no ICE servers (join returns none here), offer and answer through the "
        "signaling socket"
    )
    calls = [await _call(rig.take(), rig.alone) for _ in range(CALLS)]
    print(f"  {'seconds from createOffer to':<44} {'p50':>7} {'p90':>7} {'max':>7} {'calls':>6}")
    milestones = [*CALL_MILESTONES[:4], "both connected", *CALL_MILESTONES[4:], "both first frames"]
    for milestone in milestones:
        if milestone.startswith("both"):
            pair = CALL_MILESTONES[2:4] if "connected" in milestone else CALL_MILESTONES[4:6]
            times = [
                max(c.marks[m] for m in pair) for c in calls if all(m in c.marks for m in pair)
            ]
        else:
            times = [c.marks[milestone] for c in calls if milestone in c.marks]
        if times:
            print(
                f"  {milestone:<44} {_percentile(times, 50):7.3f} {_percentile(times, 90):7.3f} "
                f"{max(times):7.3f} {len(times):>6}"
            )
        else:
            print(f"  {milestone:<44} {'never':>7} {'':>7} {'':>7} {0:>6}")
    missed = sum(not c.done.is_set() for c in calls)
    if missed:
        print(
            f"  {missed} of {CALLS} calls did not connect with video both ways in {CALL_TIMEOUT} s"
        )


Section = Callable[[Rig], Awaitable[None]]


def sections() -> list[tuple[str, int, Section]]:
    """Title, consults it takes, the measurement."""
    from bench import consult_relay  # it builds on this module's helpers

    return [
        ("signaling message latency, one worker and two through Redis", 3, signaling_latency),
        ("two aiortc peers connecting through the API", CALLS, peers_connecting),
        ("CPU per relayed consult", consult_relay.CONSULTS, consult_relay.relay_cost),
    ]


async def _book(server: Server, engine: AsyncEngine, people: People) -> list[Consult]:
    """Each patient books their doctor's first open slot through the API; then the consults'
    day comes: they start in STARTS_IN."""
    emails = [p.email for p in people.doctors] + [p.email for p in people.patients]
    tokens = await sign_in(server.base, emails)
    doctor_tokens, patient_tokens = tokens[: len(people.doctors)], tokens[len(people.doctors) :]
    async with httpx.AsyncClient(base_url=server.base, trust_env=False, timeout=60) as http:
        since = (clock.today() + timedelta(days=2)).isoformat()
        response = await http.get(
            "/v1/slots",
            params={"limit": 200, "from": since},
            headers={"Authorization": f"Bearer {patient_tokens[0]}"},
        )
        response.raise_for_status()
        first_slot: dict[str, str] = {}
        for slot in response.json()["items"]:
            first_slot.setdefault(slot["practitioner_id"], slot["start"])
        consults = []
        for n, practitioner_id in enumerate(people.practitioner_ids):
            booked = await http.post(
                "/v1/appointments",
                json={
                    "practitioner_id": str(practitioner_id),
                    "start": first_slot[str(practitioner_id)],
                    "patient_jurisdiction": "MX-OAX",
                    "reason": "benchmark",
                },
                headers={"Authorization": f"Bearer {patient_tokens[n]}"},
            )
            booked.raise_for_status()
            consults.append(
                Consult(
                    id=booked.json()["id"],
                    doctor_id=str(people.doctors[n].account_id),
                    patient_id=str(people.patients[n].account_id),
                    doctor_token=doctor_tokens[n],
                    patient_token=patient_tokens[n],
                )
            )
    async with create_sessionmaker(engine)() as session:
        start = clock.now() + STARTS_IN
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id).in_([uuid.UUID(c.id) for c in consults]))
            .values(start=start, end=start + timedelta(minutes=30))
        )
        await session.commit()
    return consults


def _log_problems(servers: dict[str, Server]) -> None:
    """What the servers logged at warning or above (they log nothing below)."""
    for name, server in servers.items():
        lines = server.log_lines()
        if lines:
            print(f"\n{name} server logged {len(lines)} lines; the first ones:")
            for line in lines[:10]:
                print(f"  {line[:500]}")


async def _start_servers(
    stack: contextlib.AsyncExitStack, env: dict[str, str], folder: str
) -> dict[str, Server]:
    """One alone, and two sharing Redis when it answers; stopped when `stack` closes."""
    servers = {"alone": await stack.enter_async_context(serving(env, folder, "alone"))}
    if answers(6379):
        for name in ("redis-1", "redis-2"):
            servers[name] = await stack.enter_async_context(
                serving(env | {"TEQUIO_REDIS_URL": REDIS_URL}, folder, name)
            )
    return servers


async def _run(folder: str) -> int:
    """Sets up, runs every section, cleans up; returns how many sections failed."""
    needed = sum(count for _, count, _ in sections())
    async with contextlib.AsyncExitStack() as stack:
        scratch = await stack.enter_async_context(scratch_database(folder))
        settings = scratch.settings()
        engine = create_engine(settings)
        stack.push_async_callback(engine.dispose)
        people = await seed(
            create_sessionmaker(engine), settings, practitioners=needed, patients=needed
        )
        servers = await _start_servers(stack, scratch.environment(**FLOOD_LIMIT), folder)
        consults = await _book(servers["alone"], engine, people)
        redis = (servers["redis-1"], servers["redis-2"]) if "redis-1" in servers else None
        two = f"two more sharing Redis at {REDIS_URL}" if redis else "Redis does not answer"
        print(
            f"scratch PostgreSQL database {scratch.name}; {needed} consults booked through the "
            f"API and moved to start in {STARTS_IN.seconds // 60} minutes; servers: `tequio "
            f"serve` processes of one worker each, one alone (in-process broker) and {two}; "
            f"{os.cpu_count()} cores shared with PostgreSQL, Redis and this client"
        )
        rig = Rig(servers["alone"], redis, consults)
        failed = 0
        try:
            for title, _, section in sections():
                print(f"\n-- {title}")
                try:
                    await section(rig)
                except Exception:
                    traceback.print_exc()
                    failed += 1
        finally:
            _log_problems(servers)
        return failed


def run() -> None:
    if not answers(5432):
        print("PostgreSQL does not answer on 127.0.0.1:5432: consult benchmarks not run")
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        failed = asyncio.run(_run(folder))
    print(f"\n(consult benchmarks: {time.perf_counter() - started:.0f} s in all)")
    if failed:
        print(f"FAILED: {failed} of {len(sections())} sections", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    run()
