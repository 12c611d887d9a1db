"""Which worker hosts a consult's server relay, and the glue between the relay and the room.

A relay's media lives in one process. The worker that switches a room to relay mode claims it in
the database (`consult_room.relay_owner`) and renews the claim while it runs; the relay then takes
part in the room like a participant named `relay`: it hears the room's events through the broker
(so offers and answers from participants on any worker reach it) and answers through it. If its
worker dies, the claim goes stale and the next relay message on any worker claims it anew.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.broker import Broker
from app.db import in_own_session
from app.settings import Settings
from cooperative.kernel import clock
from telehealth.consults import media_service, rules
from telehealth.consults import service as consults
from telehealth.consults.relay import RELAY, RelayRoom, VideoCap
from telehealth.consults.schemas import IceServer

log = logging.getLogger(__name__)


def ice_servers(settings: Settings, participant: str) -> list[IceServer]:
    """TURN with time-limited credentials and STUN, only as configured: never a public default."""
    servers = [IceServer(urls=settings.stun_urls)] if settings.stun_urls else []
    if settings.turn_urls and settings.turn_secret is not None:
        expires = int(clock.now().timestamp()) + settings.turn_credential_seconds
        username, password = rules.turn_credentials(
            settings.turn_secret.get_secret_value().encode(), participant, expires
        )
        servers.append(IceServer(urls=settings.turn_urls, username=username, credential=password))
    return servers


def relay_ice_servers(settings: Settings) -> Callable[[], list[dict[str, Any]]]:
    """The relay's own ICE servers, with fresh TURN credentials for each connection."""
    return lambda: [s.model_dump(exclude_none=True) for s in ice_servers(settings, RELAY)]


# Room events after which the relay looks again at whether it may record.
RECONSIDER = {"presence", "consent", "recording-request", "mode"}


class HostedRelay:
    """One consult's relay in this worker: its media, its broker subscription, its claim."""

    def __init__(self, hub: "RelayHub", appointment_id: uuid.UUID) -> None:
        self.hub = hub
        self.appointment_id = appointment_id
        self.room = str(appointment_id)
        self.relay = RelayRoom(self.publish, hub.cap, hub.ice_servers, changed=self.reconsider)
        self.deciding = asyncio.Lock()
        self.segment_id: uuid.UUID | None = None
        self.ready = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def publish(self, message: dict[str, Any]) -> None:
        await self.hub.broker.publish(self.room, message)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._keep_claim()),
        ]

    async def _listen(self) -> None:
        try:
            async with self.hub.broker.subscribe(self.room) as messages:
                self.ready.set()
                async for message in messages:
                    try:
                        if not await self._handle(message):
                            break
                    except Exception:  # one bad event must not take the relay down
                        log.exception("relay event failed", extra={"room": self.room})
        finally:
            self.ready.set()
            asyncio.create_task(self.hub.stop(self.appointment_id))  # noqa: RUF006

    async def _handle(self, message: dict[str, Any]) -> bool:
        kind, sender = message.get("type"), str(message.get("from"))
        if sender == RELAY:
            return True
        if message.get("to") == RELAY:
            if kind == "offer":
                await self.relay.offer(sender, str(message.get("sdp", "")))
            elif kind == "candidate":
                await self.relay.candidate(sender, message.get("candidate") or {})
            await self.reconsider()
            return True
        if kind == "mode" and message.get("mode") == "p2p":
            return False
        if kind in RECONSIDER:
            await self.reconsider()
        return True

    async def reconsider(self) -> None:
        """Record while the doctor asks and everyone present consents; a new segment starts
        when the people sending media change, and the recording stops at once otherwise."""
        async with self.deciding:
            await self._reconsider()

    async def _reconsider(self) -> None:
        state = await in_own_session(
            self.hub.sessionmaker,
            lambda session: media_service.recording_state(
                session, self.appointment_id, self.hub.window
            ),
            commit=False,
        )
        senders = self.relay.senders
        running = self.relay.segment
        if senders and state.may_record(senders):
            if running is None or running.sources != self.relay.sources:
                await self._finish("participants-changed" if running else None)
                await self._begin(senders)
            return
        if running is not None:
            reason = "stopped" if not state.requested else "consent-missing"
            await self._finish(reason if senders else "nobody-sending")

    async def _begin(self, senders: frozenset[str]) -> None:
        file_name = f"{self.appointment_id}/{uuid.uuid4()}.mkv"

        segment = await in_own_session(
            self.hub.sessionmaker,
            lambda session: media_service.begin_segment(
                session, self.appointment_id, file_name, senders
            ),
        )
        self.segment_id = segment.id
        try:
            await self.relay.record(self.hub.recordings_dir / file_name, senders)
        except Exception:
            log.exception("recording could not start", extra={"room": self.room})
            await self._finish("failed")
            return
        await self.publish(
            {"type": "recording", "state": "started", "recording_id": str(segment.id)}
            | {"from": RELAY}
        )

    async def _finish(self, reason: str | None) -> None:
        if self.segment_id is None:
            return
        segment_id, self.segment_id = self.segment_id, None
        size = await self.relay.stop_recording()
        # Everyone hears that it stopped before the segment's row is closed: a database that is
        # slow or failing at that moment must not keep the room showing "Recording" after a
        # withdrawal, when nothing is recorded any more.
        if reason != "participants-changed":
            await self.publish(
                {"type": "recording", "state": "stopped", "reason": reason, "from": RELAY}
                | {"recording_id": str(segment_id)}
            )
        await in_own_session(
            self.hub.sessionmaker,
            lambda session: media_service.end_segment(
                session, segment_id, reason or "stopped", size
            ),
        )

    async def _keep_claim(self) -> None:
        """Renew the claim, let go of anyone who may no longer take part (their access ended,
        the room closed) and look again at the recording, every heartbeat; stop after three
        passes in a row fail, before the claim goes stale and another worker takes over."""
        failures = 0
        while True:
            await asyncio.sleep(self.hub.heartbeat_seconds)
            try:
                keep = await self._check()
                failures = 0
            except Exception:
                failures += 1
                log.warning("relay heartbeat failed", extra={"room": self.room}, exc_info=True)
                keep = failures < 3
            if not keep:
                asyncio.create_task(self.hub.stop(self.appointment_id))  # noqa: RUF006
                return

    async def _check(self) -> bool:
        still, state, gone = await in_own_session(self.hub.sessionmaker, self._heartbeat)
        for account in gone:
            await self.relay.leave(account)
        closed = state.closes_at is not None and clock.now() > state.closes_at
        if not still or closed:
            return False
        await self.reconsider()
        return True

    async def _heartbeat(
        self, session: AsyncSession
    ) -> tuple[bool, media_service.RecordingState, list[str]]:
        """Renew the claim; the recording's state; who may no longer take part."""
        still = await media_service.relay_heartbeat(session, self.appointment_id, self.hub.worker)
        state = await media_service.recording_state(session, self.appointment_id, self.hub.window)
        gone = [
            account
            for account in list(self.relay.peers)
            if await consults.may_connect(
                session,
                self.appointment_id,
                uuid.UUID(account),
                window=self.hub.window,
                now=clock.now(),
            )
            is None
        ]
        return still, state, gone

    async def close(self) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        for task in self.tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await self._finish("relay-ended")
        await self.relay.close()


class RelayHub:
    """The relays this worker hosts."""

    def __init__(
        self,
        settings: Settings,
        broker: Broker,
        sessionmaker: async_sessionmaker[AsyncSession],
        ice_servers: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.broker = broker
        self.sessionmaker = sessionmaker
        self.ice_servers = ice_servers
        self.cap = VideoCap(
            settings.relay_video_max_width,
            settings.relay_video_max_height,
            settings.relay_video_max_fps,
        )
        self.recordings_dir = settings.recordings_dir
        self.heartbeat_seconds = settings.relay_heartbeat_seconds
        self.window = settings.consult_window
        self.hosted: dict[uuid.UUID, HostedRelay] = {}
        self._lock = asyncio.Lock()

    async def ensure(self, appointment_id: uuid.UUID) -> media_service.Claim:
        """Host the room's relay here unless a live worker does: `mine` if it runs here now,
        `other` if another worker hosts it, `off` if the room is not in relay mode."""
        async with self._lock:
            if appointment_id in self.hosted:
                return "mine"
            mine = await in_own_session(
                self.sessionmaker, lambda session: self._claim(session, appointment_id)
            )
            if mine != "mine":
                return mine
            hosted = HostedRelay(self, appointment_id)
            self.hosted[appointment_id] = hosted
            hosted.start()
        await hosted.ready.wait()
        return "mine"

    async def _claim(self, session: AsyncSession, appointment_id: uuid.UUID) -> media_service.Claim:
        return await media_service.claim_relay(
            session,
            appointment_id,
            self.worker,
            stale_after=timedelta(seconds=self.heartbeat_seconds * 3),
        )

    async def stop(self, appointment_id: uuid.UUID) -> None:
        hosted = self.hosted.pop(appointment_id, None)
        if hosted is not None:
            await hosted.close()

    async def close(self) -> None:
        for appointment_id in list(self.hosted):
            await self.stop(appointment_id)
