"""The signaling socket of a consult room: one participant's connection, what it accepts, and
what it delivers (see the message schema in telehealth/consults/schemas.py)."""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from fastapi import WebSocket
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.broker import Broker
from app.db import in_own_session
from app.relays import RelayHub
from app.settings import Settings
from cooperative.kernel import clock
from telehealth.consults import media_service, rules, views
from telehealth.consults import service as consults
from telehealth.consults.relay import RELAY
from telehealth.consults.schemas import (
    Admit,
    Answer,
    ClientMessage,
    Media,
    Offer,
    Ping,
)

MESSAGES: TypeAdapter[Any] = TypeAdapter(ClientMessage)


log = logging.getLogger(__name__)

# WebSocket close codes (4000–4999 are the application's): why a socket was refused or ended.
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_RECONNECT = 1012  # "service restart": the room's events stopped reaching us; come back


class SocketClosed(Exception):
    """The server has closed this participant's socket; stop reading from it."""


class SignalConnection:
    """One participant's signaling socket: validates what they send, forwards it to the room's
    broker, and delivers the room's events addressed to them.

    Until the doctor admits them, a participant is in the waiting room: their socket gets a
    welcome that says only that they wait, then nothing but their own admission (and their own
    errors; when the room closes or their access ends the socket is closed), and what they send
    is refused with a `not-admitted` error, the socket kept. Once admitted they get the room: a
    second welcome with everyone, the media state and the offers and answers kept for them."""

    def __init__(
        self,
        websocket: WebSocket,
        appointment_id: uuid.UUID,
        me: uuid.UUID,
        role: str,
        *,
        admitted: bool = False,
    ):
        self.websocket = websocket
        self.room = str(appointment_id)
        self.appointment_id = appointment_id
        self.me = me
        self.role = role
        self.admitted = admitted  # whether this socket gets the room's events
        self.entering = asyncio.Lock()
        state = websocket.app.state
        self.settings: Settings = state.settings
        self.sessionmaker = state.sessionmaker
        self.broker: Broker = state.broker
        self.bucket = rules.TokenBucket(
            rate=self.settings.signal_messages_per_second,
            burst=self.settings.signal_burst,
            tokens=self.settings.signal_burst,
            last=time.monotonic(),
        )
        # Whether this participant may still be here, from the database at most every
        # `signal_recheck_seconds`: a chat or a candidate then costs no query at all.
        self.verdict: Any = None
        self.connection = uuid.uuid4().hex  # which of this person's sockets this is
        self.checked_at = float("-inf")

    async def error(self, code: str, message: str) -> None:
        await self.websocket.send_json({"type": "error", "code": code, "message": message})

    async def publish(self, message: dict[str, Any]) -> None:
        await self.broker.publish(self.room, {**message, "from": str(self.me)})

    async def welcome(self) -> bool:
        """Greet the socket: the room if they are admitted, otherwise only that they wait."""
        async with self.entering:

            async def arrive(session: AsyncSession) -> tuple[dict[str, Any] | None, Any]:
                await consults.set_present(
                    session, self.appointment_id, self.me, self.connection, True
                )
                everyone = await consults.participants(session, self.appointment_id)
                mine = next((p for p in everyone if p.account_id == self.me), None)
                self.admitted = mine is not None and mine.admitted_at is not None
                return (await self._room(session, everyone) if self.admitted else None), mine

            room, mine = await in_own_session(self.sessionmaker, arrive)
            if room is not None:
                await self.websocket.send_json(room)
            else:
                await self.websocket.send_json(
                    {
                        "type": "welcome",
                        "you": str(self.me),
                        "role": self.role,
                        "admitted": False,
                        "participants": [views.participant_public(mine).model_dump(mode="json")]
                        if mine is not None
                        else [],
                    }
                )
        event = "join" if self.admitted else "waiting"
        await self.publish({"type": "presence", "event": event, "role": self.role})
        return self.admitted

    async def _room(self, session: Any, everyone: list[Any]) -> dict[str, Any]:
        """The welcome of an admitted participant: who is here, the media state, and the latest
        offer or answer addressed to them (to replay after a reconnect)."""
        memos = await consults.replay(session, self.appointment_id, self.me)
        mode, recording, running = await media_service.media_state(session, self.appointment_id)
        return {
            "type": "welcome",
            "you": str(self.me),
            "role": self.role,
            "admitted": True,
            "participants": [views.participant_public(p).model_dump(mode="json") for p in everyone],
            "replay": [{**m.payload, "from": str(m.from_account_id)} for m in memos],
            "mode": mode,
            "recording": recording,
            "recording_running": running,
        }

    async def enter(self) -> None:
        """The participant was admitted: from now on this socket gets the room, starting with a
        welcome that has the room as it is now."""
        async with self.entering:
            if self.admitted:
                return

            async def look(session: AsyncSession) -> dict[str, Any]:
                everyone = await consults.participants(session, self.appointment_id)
                return await self._room(session, everyone)

            room = await in_own_session(self.sessionmaker, look, commit=False)
            await self.websocket.send_json(room)
            self.admitted = True

    def _admits_me(self, message: dict[str, Any]) -> bool:
        return (
            message.get("type") == "presence"
            and message.get("event") == "admitted"
            and message.get("account_id") == str(self.me)
        )

    async def deliver(self, messages: Any) -> None:
        """Send the room's events addressed to this participant. If the broker fails (Redis
        restarted, a subscription dropped), close the socket so the client reconnects and gets
        the room back, rather than wait for events that will never come."""
        try:
            await self._deliver(messages)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("room events stopped reaching a participant; asking them to reconnect")
            with contextlib.suppress(Exception):
                await self.websocket.close(code=CLOSE_RECONNECT)

    async def _deliver(self, messages: Any) -> None:
        async for message in messages:
            if message.get("from") == str(self.me):
                continue
            if message.get("to") not in (None, str(self.me)):
                continue
            if not self.admitted:
                if not self._admits_me(message):
                    continue  # the waiting room hears nothing of the consult
                await self.enter()
            await self.websocket.send_json(message)

    async def handle(self, raw: str) -> None:
        if len(raw.encode()) > self.settings.signal_max_message_bytes:
            await self.error("too-large", "message too large")
            return
        if not self.bucket.allow(time.monotonic()):
            await self.error("rate-limited", "too many messages; slow down")
            return
        try:
            message = MESSAGES.validate_python(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
            await self.error("invalid-message", detail)
            return
        await self.dispatch(message)

    async def dispatch(self, message: Any) -> None:
        if isinstance(message, Ping):
            await self.websocket.send_json({"type": "pong"})
            return
        if isinstance(message, Admit):
            await self.admit(message.account_id)
            return
        me = await self.still_allowed()
        if me is None:
            await self.websocket.close(code=CLOSE_FORBIDDEN)
            raise SocketClosed()
        if me.admitted_at is None:  # nothing reaches the room from the waiting room
            await self.error("not-admitted", "wait for the doctor to admit you")
            return
        if isinstance(message, Offer | Answer) and isinstance(message.to, uuid.UUID):
            to = message.to
            await in_own_session(
                self.sessionmaker,
                lambda session: consults.remember(
                    session,
                    self.appointment_id,
                    to=to,
                    sender=self.me,
                    kind=message.type,
                    payload=message.model_dump(mode="json"),
                ),
            )
        if isinstance(message, Media):
            audio_only = message.audio_only
            await in_own_session(
                self.sessionmaker,
                lambda session: consults.note_media(
                    session, self.appointment_id, self.me, audio_only=audio_only
                ),
            )
        if getattr(message, "to", None) == RELAY:
            hub: RelayHub = self.websocket.app.state.relays
            if await hub.ensure(self.appointment_id) == "off":  # takes over a dead relay
                await self.error("not-relay-mode", "the consult is not using the server relay")
                return
        await self.publish(message.model_dump(mode="json"))

    async def watch(self) -> None:
        """A participant who only listens is checked too: when the room closes or their access
        ends, their socket is closed and the room's events stop reaching them; one admitted
        while the news of it was lost on the way (a broker hiccup) gets the room anyway."""
        while True:
            await asyncio.sleep(self.settings.signal_watch_seconds)
            self.checked_at = float("-inf")
            me = await self.still_allowed()
            if me is None:
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=CLOSE_FORBIDDEN)
                return
            if me.admitted_at is not None and not self.admitted:
                await self.enter()

    async def still_allowed(self) -> Any:
        """The participant if they may still take part (the room is open, the appointment live,
        they are still a participant); from the database unless checked moments ago. Someone
        still waiting is checked every time, so their admission takes effect at once."""
        now = time.monotonic()
        fresh = now - self.checked_at < self.settings.signal_recheck_seconds
        if fresh and self.verdict is not None and self.verdict.admitted_at is not None:
            return self.verdict

        self.verdict = await in_own_session(
            self.sessionmaker,
            lambda session: consults.may_connect(
                session,
                self.appointment_id,
                self.me,
                window=self.settings.consult_window,
                now=clock.now(),
            ),
            commit=False,
        )
        self.checked_at = now
        return self.verdict

    async def admit(self, account_id: uuid.UUID) -> None:
        if self.role != "doctor":
            await self.error("forbidden", "only the doctor admits participants")
            return
        participant = await in_own_session(
            self.sessionmaker,
            lambda session: consults.let_in(session, self.appointment_id, account_id),
        )
        if participant is None:
            await self.error("unknown-participant", "nobody by that id is waiting")
            return
        await self.publish(
            {
                "type": "presence",
                "event": "admitted",
                "account_id": str(account_id),
                "role": participant.role,
            }
        )

    async def leave(self) -> None:
        await in_own_session(
            self.sessionmaker,
            lambda session: consults.set_present(
                session, self.appointment_id, self.me, self.connection, False
            ),
        )
        with contextlib.suppress(Exception):
            await self.publish({"type": "presence", "event": "leave", "role": self.role})
