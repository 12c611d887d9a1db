"""The outbox's dispatcher: the loop that delivers due messages (`cooperative.notifications`).

It runs inside every `tequio serve` worker unless `TEQUIO_OUTBOX_DISPATCH_SECONDS=0`, and as
`tequio worker` processes; any number may run at once on PostgreSQL (each takes different
messages), one on SQLite. Each pass first marks dead what expired unsent, then takes a batch,
hands each message to its channel's provider and records the answer, and goes on while it finds
full batches."""

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import in_own_session
from app.settings import Settings
from cooperative.kernel import clock
from cooperative.notifications import delivery, templates
from cooperative.notifications.models import OutboxMessage
from cooperative.notifications.providers import (
    DeliveryFailed,
    DevelopmentProvider,
    Outgoing,
    Provider,
    SmtpConfig,
    SmtpProvider,
)
from cooperative.notifications.rules import Channel, RetryPolicy
from cooperative.notifications.twilio import TwilioConfig, TwilioProvider

log = logging.getLogger("tequio.outbox")


def providers_of(settings: Settings) -> list[Provider]:
    """Email by SMTP when `TEQUIO_SMTP_HOST` is set; SMS and WhatsApp through the Twilio-style
    API when its account, token and the channel's sender number are set; outside production, the
    development
    provider takes every channel that has no real provider. In production a channel without a
    provider keeps its messages queued (until they expire)."""
    found: list[Provider] = []
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        found.append(
            SmtpProvider(
                SmtpConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    sender=settings.smtp_from,
                    username=settings.smtp_username,
                    password=password,
                    security=settings.smtp_security,
                    timeout_seconds=settings.smtp_timeout_seconds,
                )
            )
        )
    if twilio := twilio_config(settings):
        found.append(TwilioProvider(twilio))
    if settings.environment != "production":
        found.append(DevelopmentProvider())
    return found


def twilio_config(settings: Settings) -> TwilioConfig | None:
    """The Twilio-style provider's configuration, if it has an account, a token and a sender
    for at least one channel."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not (settings.twilio_account_sid and token):
        return None
    if not (settings.twilio_sms_from or settings.twilio_whatsapp_from):
        return None
    return TwilioConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=token,
        status_callback=settings.twilio_status_callback,
        api_base=settings.twilio_api_base,
        sms_from=settings.twilio_sms_from,
        whatsapp_from=settings.twilio_whatsapp_from,
        whatsapp_content_sid=settings.twilio_whatsapp_content_sid,
        whatsapp_content_sids=dict(settings.twilio_whatsapp_content_sids),
        timeout_seconds=settings.twilio_timeout_seconds,
    )


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        providers: Sequence[Provider],
        *,
        base_url: str,
        policy: RetryPolicy = RetryPolicy(),
        batch: int = 20,
        lease: timedelta = timedelta(minutes=5),
        concurrency: int = 4,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.by_channel: Mapping[str, Provider] = {}
        for provider in reversed(providers):  # the first provider named for a channel wins
            self.by_channel = {**self.by_channel, **dict.fromkeys(provider.channels, provider)}
        self.base_url = base_url
        self.policy = policy
        self.batch = batch
        self.lease = lease
        self.concurrency = concurrency

    @classmethod
    def from_settings(
        cls, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> "Dispatcher":
        return cls(
            sessionmaker,
            providers_of(settings),
            base_url=settings.public_url,
            policy=RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                base=timedelta(seconds=settings.outbox_retry_base_seconds),
                cap=timedelta(seconds=settings.outbox_retry_cap_seconds),
            ),
            batch=settings.outbox_batch,
        )

    async def _take(
        self, session: AsyncSession
    ) -> tuple[list[Outgoing], dict[uuid.UUID, OutboxMessage]]:
        now = clock.now()
        await delivery.expire(session, now=now)
        claimed = await delivery.claim(
            session, channels=self.by_channel, now=now, lease=self.lease, limit=self.batch
        )
        ready, stuck = await delivery.outgoing(session, claimed, base_url=self.base_url)
        for message, reason in stuck:
            assert message.claim_token is not None
            await delivery.record_failure(
                session,
                message,
                message.claim_token,
                provider=None,
                reason=reason,
                permanent=True,
                policy=self.policy,
                now=now,
            )
        return ready, {m.id: m for m in claimed}

    async def dispatch_once(self) -> int:
        """One batch: how many messages it took. Its messages go out `concurrency` at a time
        (a slow provider answer holds up no more than its own message); each answer is
        recorded in its own transaction as it comes."""
        ready, claimed = await in_own_session(self.sessionmaker, self._take)
        gate = asyncio.Semaphore(self.concurrency)

        async def deliver(message: Outgoing) -> None:
            async with gate:
                await self._deliver(message, claimed[message.message_id])

        await asyncio.gather(*(deliver(message) for message in ready))
        return len(claimed)

    async def _deliver(self, message: Outgoing, row: OutboxMessage) -> None:
        provider = self.by_channel[message.channel]
        token = row.claim_token
        assert token is not None
        try:
            accepted = await provider.send(message)
        except Exception as exc:  # a provider's bug is a failed attempt, never a lost message
            failure = exc if isinstance(exc, DeliveryFailed) else DeliveryFailed(repr(exc)[:200])
            if not isinstance(exc, DeliveryFailed):
                log.warning("the %s provider failed", provider.name, exc_info=exc)
            await in_own_session(
                self.sessionmaker,
                lambda session: delivery.record_failure(
                    session,
                    row,
                    token,
                    provider=provider.name,
                    reason=failure.reason,
                    permanent=failure.permanent,
                    policy=self.policy,
                    now=clock.now(),
                ),
            )
            return
        await in_own_session(
            self.sessionmaker,
            lambda session: delivery.record_sent(
                session,
                message.message_id,
                token,
                provider=provider.name,
                provider_message_id=accepted.provider_message_id,
                now=clock.now(),
                forget=templates.without_secrets(row.template, row.parameters),
            ),
        )

    async def drain(self) -> int:
        """Passes until a batch comes back short: everything due now is handled."""
        total = 0
        while (taken := await self.dispatch_once()) > 0:
            total += taken
            if taken < self.batch:
                break
        return total

    async def run(self, every_seconds: float) -> None:
        """Dispatch forever, every `every_seconds` (a failure is logged and tried next time)."""
        if missing := sorted({c.value for c in Channel} - {Channel.CONSOLE} - set(self.by_channel)):
            log.warning(
                "no provider for some channels: their messages wait, and die when they expire",
                extra={"channels": ", ".join(missing)},
            )
        while True:
            try:
                await self.drain()
            except Exception:
                log.warning("outbox dispatch failed", exc_info=True)
            await asyncio.sleep(every_seconds)
