"""Webhook deliveries: the loop that POSTs due deliveries to their endpoints, signed per the
Standard Webhooks specification (`standardwebhooks`), and the events the API's changes raise.

It runs beside the outbox's dispatcher (same cadence, `TEQUIO_OUTBOX_DISPATCH_SECONDS`, in
`tequio serve` and `tequio worker`), taking deliveries the same way: a claim under a token with
SKIP LOCKED on PostgreSQL, the POST after that transaction commits, the answer recorded by the
claim's holder only. Before every attempt the endpoint's host is resolved again and refused if
it now points at a private address (DNS rebinding); the connection then goes to the address
that was checked."""

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.db import in_own_session
from app.settings import Settings
from cooperative.dues.models import Payment
from cooperative.governance.models import Proposal
from cooperative.kernel import clock
from cooperative.notifications.rules import RetryPolicy
from cooperative.webhooks import service as webhooks
from cooperative.webhooks.models import WebhookDelivery, WebhookEndpoint
from cooperative.webhooks.rules import EventType
from telehealth.referrals.models import Referral
from telehealth.scheduling.models import Appointment

log = logging.getLogger("tequio.webhooks")


def config_of(settings: Settings) -> webhooks.Config:
    return webhooks.Config(
        allow_private=settings.webhooks_allow_private,
        grace=timedelta(hours=settings.webhooks_rotation_grace_hours),
        disable_after_dead=settings.webhooks_disable_after_dead,
        disable_after=timedelta(hours=settings.webhooks_disable_after_hours),
        policy=RetryPolicy(
            max_attempts=settings.webhooks_max_attempts,
            base=timedelta(seconds=settings.webhooks_retry_base_seconds),
            cap=timedelta(seconds=settings.webhooks_retry_cap_seconds),
        ),
    )


def signed_headers(
    endpoint: WebhookEndpoint, event_id: str, body: str, *, at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers: `webhook-id` (the event's, the same on every attempt),
    `webhook-timestamp` and `webhook-signature` (one `v1,` signature per live secret, space
    separated: during a rotation's grace both verify)."""
    moment = at.astimezone(UTC).replace(microsecond=0)
    signatures = [
        Webhook(secret).sign(event_id, moment, body)
        for secret in webhooks.signing_secrets(endpoint, at)
    ]
    return {
        "content-type": "application/json",
        "user-agent": "Tequio-Webhooks/1",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class WebhookDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: webhooks.Config,
        *,
        timeout_seconds: float = 10,
        batch: int = 20,
        lease: timedelta = timedelta(minutes=5),
        concurrency: int = 4,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config
        self.timeout = timeout_seconds
        self.batch = batch
        self.lease = lease
        self.concurrency = concurrency

    @classmethod
    def from_settings(
        cls, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> "WebhookDispatcher":
        return cls(
            sessionmaker,
            config_of(settings),
            timeout_seconds=settings.webhooks_timeout_seconds,
            batch=settings.outbox_batch,
        )

    async def _take(self, session: AsyncSession) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
        claimed = await webhooks.claim(session, now=clock.now(), lease=self.lease, limit=self.batch)
        endpoints = await webhooks.endpoints_of(session, claimed)
        return [(d, endpoints[d.endpoint_id]) for d in claimed if d.endpoint_id in endpoints]

    async def dispatch_once(self) -> int:
        taken = await in_own_session(self.sessionmaker, self._take)
        gate = asyncio.Semaphore(self.concurrency)

        async def deliver(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
            async with gate:
                await self._deliver(delivery, endpoint)

        await asyncio.gather(*(deliver(d, e) for d, e in taken))
        return len(taken)

    async def _post(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> int:
        """POST the delivery; the receiver's status code (raises on no answer)."""
        addresses = await webhooks.safe_addresses(
            endpoint.url, allow_private=self.config.allow_private
        )
        if addresses is None:
            raise PermissionError("the host resolves to a private address")
        if not addresses:
            raise OSError("the host does not resolve")
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        headers = signed_headers(endpoint, delivery.event_id, body, at=clock.now())
        parts = urlsplit(endpoint.url)
        host = parts.hostname or ""
        pinned = addresses[0]
        target = endpoint.url
        if pinned != host:  # connect to the address checked, say the name in Host and SNI
            literal = f"[{pinned}]" if ":" in pinned else pinned
            netloc = literal + (f":{parts.port}" if parts.port else "")
            target = parts._replace(netloc=netloc).geturl()
            headers["host"] = parts.netloc
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            answer = await client.post(
                target,
                content=body.encode(),
                headers=headers,
                extensions={"sni_hostname": host} if pinned != host else {},
            )
        return answer.status_code

    async def _deliver(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
        token = delivery.claim_token
        assert token is not None
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = await self._post(delivery, endpoint)
            if not 200 <= status_code < 300:
                error = f"the receiver answered {status_code}"
        except Exception as exc:  # no answer is a failed attempt, never a lost delivery
            error = f"no answer: {type(exc).__name__}: {exc}"[:300]
        elapsed = int((time.monotonic() - started) * 1000)
        await in_own_session(
            self.sessionmaker,
            lambda session: webhooks.record(
                session,
                delivery,
                token,
                status_code=status_code,
                error=error,
                duration_ms=elapsed,
                config=self.config,
                now=clock.now(),
            ),
        )

    async def drain(self) -> int:
        total = 0
        while (taken := await self.dispatch_once()) > 0:
            total += taken
            if taken < self.batch:
                break
        return total

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                log.warning("webhook dispatch failed", exc_info=True)
            await asyncio.sleep(every_seconds)


async def appointment_event(
    session: AsyncSession, event_type: EventType, appointment: Appointment
) -> None:
    """An appointment was booked, cancelled or moved: its patient's apps (with an
    appointments:read grant) and its clinic's app hear its id and times, nothing else."""
    await webhooks.emit(
        session,
        event_type,
        {"id": appointment.id, "start": appointment.start, "end": appointment.end},
        account_id=appointment.patient_account_id,
        clinic_id=appointment.clinic_id,
    )


async def referral_event(session: AsyncSession, referral: Referral) -> None:
    """A referral moved: its patient's apps (appointments:read) and its clinic's app hear its
    id, its status and when; never what for."""
    await webhooks.emit(
        session,
        EventType.REFERRAL_CHANGED,
        {"id": referral.id, "status": referral.state, "at": clock.now()},
        account_id=referral.patient_account_id,
        clinic_id=referral.clinic_id,
    )


async def proposal_event(session: AsyncSession, event_type: EventType, proposal: Proposal) -> None:
    """A vote opened: apps holding any member's governance:vote grant hear its id, status and
    times. (Its result is raised where a vote closes, however it closes:
    `cooperative.governance.closing`.)"""
    await webhooks.emit(
        session,
        event_type,
        {"id": proposal.id, "status": proposal.status, "closes_at": proposal.closes_at},
    )


async def payment_event(session: AsyncSession, payment: Payment) -> None:
    """A payment was confirmed: the payer's apps (membership:read) hear its id and when; no
    amount, no purpose. A payment reported and not confirmed yet raises nothing."""
    if payment.status != "confirmed":
        return
    await webhooks.emit(
        session,
        EventType.PAYMENT_CONFIRMED,
        {"id": payment.id, "at": payment.confirmed_at or clock.now()},
        account_id=payment.payer_account_id,
    )
