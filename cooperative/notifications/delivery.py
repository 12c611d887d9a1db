"""The dispatcher's side of the outbox: take due messages, record what the provider said.

Taking is one statement that marks the due messages `sending` under a fresh claim token:
`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` on PostgreSQL, so dispatchers running
at once each take different messages and none waits for another; SQLite has one writer at a
time, so the same statement there is a conditional claim by a single worker. The provider is
called after that transaction commits (no lock is held across the network), and the result is
recorded only by the holder of the claim: a dispatcher that outlived its lease records nothing
over the one that took the message next.

A message is sent once. The one exception is a dispatcher that dies between the provider's
acceptance and its record: after the lease the message is taken again, and sent again with
the same idempotency key (an email's Message-ID), which is all that can be done without a
provider that deduplicates."""

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.notifications import templates
from cooperative.notifications.models import OutboxMessage
from cooperative.notifications.providers import Outgoing
from cooperative.notifications.rules import WAITING, Channel, RetryPolicy, State


async def claim(
    session: AsyncSession,
    *,
    channels: Collection[str],
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[OutboxMessage]:
    """Take up to `limit` due messages of `channels` (and any whose dispatcher's lease ran
    out), oldest due first; each counts one more attempt."""
    token = uuid.uuid4()
    due = (
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.channel).in_(list(channels)),
            or_(
                and_(
                    col(OutboxMessage.state).in_(WAITING),
                    col(OutboxMessage.next_attempt_at) <= now,
                ),
                and_(
                    col(OutboxMessage.state) == State.SENDING,
                    col(OutboxMessage.claimed_until) < now,
                ),
            ),
        )
        .order_by(col(OutboxMessage.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(due.scalar_subquery()))
        .values(
            state=State.SENDING,
            claim_token=token,
            claimed_until=now + lease,
            attempts=col(OutboxMessage.attempts) + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    taken = await session.execute(
        select(OutboxMessage)
        .where(col(OutboxMessage.claim_token) == token)
        .order_by(col(OutboxMessage.next_attempt_at))
        .execution_options(populate_existing=True)
    )
    return list(taken.scalars())


def _address(channel: str, email: str | None, phone: str | None) -> str | None:
    if channel == Channel.EMAIL:
        return email
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return phone
    return email or phone


async def outgoing(
    session: AsyncSession, messages: list[OutboxMessage], *, base_url: str
) -> tuple[list[Outgoing], list[tuple[OutboxMessage, str]]]:
    """The claimed messages ready to go, and those that cannot go (no address on the channel,
    an account closed since, a template or parameters that no longer render) with the
    reason."""
    accounts = await accounts_service.by_ids(
        session, list({m.recipient_account_id for m in messages})
    )
    ready: list[Outgoing] = []
    stuck: list[tuple[OutboxMessage, str]] = []
    for message in messages:
        account = accounts.get(message.recipient_account_id)
        if account is None or not account.is_active:
            stuck.append((message, "the account is closed"))
            continue
        address = message.address or _address(message.channel, account.email, account.phone)
        if address is None:
            stuck.append((message, f"the account has no address for {message.channel}"))
            continue
        try:
            text = templates.render(
                message.template, message.language, message.parameters, base_url=base_url
            )
            logged = templates.render(
                message.template,
                message.language,
                message.parameters,
                base_url=base_url,
                for_log=True,
            )
        except (KeyError, ValueError, TypeError) as exc:  # one bad row never stops the others
            stuck.append((message, f"the message cannot be written: {type(exc).__name__}"))
            continue
        ready.append(
            Outgoing(
                message_id=message.id,
                idempotency_key=message.idempotency_key,
                channel=message.channel,
                address=address,
                subject=text.subject,
                body=text.body,
                log_body=logged.body,
                template=message.template,
            )
        )
    return ready, stuck


def _held(message_id: uuid.UUID, token: uuid.UUID) -> list[object]:
    return [
        col(OutboxMessage.id) == message_id,
        col(OutboxMessage.claim_token) == token,
        col(OutboxMessage.state) == State.SENDING,
    ]


async def record_sent(
    session: AsyncSession,
    message_id: uuid.UUID,
    token: uuid.UUID,
    *,
    provider: str,
    provider_message_id: str | None,
    now: datetime,
    forget: dict[str, Any] | None = None,
) -> bool:
    """The provider accepted the message; False if this dispatcher no longer held it.
    `forget`: its parameters with their secrets masked (`templates.without_secrets`), kept
    instead of a one-time code that has gone out."""
    kept: dict[str, object] = {} if forget is None else {"parameters": forget}
    result = await session.execute(
        update(OutboxMessage)
        .where(*_held(message_id, token))  # type: ignore[arg-type]
        .values(
            **kept,
            state=State.SENT,
            provider=provider,
            provider_message_id=provider_message_id,
            provider_reason=None,
            sent_at=now,
            claimed_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def record_failure(
    session: AsyncSession,
    message: OutboxMessage,
    token: uuid.UUID,
    *,
    provider: str | None,
    reason: str,
    permanent: bool,
    policy: RetryPolicy,
    now: datetime,
) -> State | None:
    """The attempt failed: tried again after the policy's backoff, or dead after the last
    attempt (kept, with the reason). A WhatsApp message its provider refused for good goes by
    SMS instead (`fall_back`). The new state, or None if this dispatcher no longer held the
    message."""
    state, retry_at = policy.after_failure(message.attempts, now, permanent=permanent)
    forget = templates.without_secrets(message.template, message.parameters)
    kept: dict[str, object] = {"parameters": forget} if forget and state == State.DEAD else {}
    result = await session.execute(
        update(OutboxMessage)
        .where(*_held(message.id, token))  # type: ignore[arg-type]
        .values(
            **kept,
            state=state,
            provider=provider,
            provider_reason=reason[:500],
            next_attempt_at=retry_at or message.next_attempt_at,
            claimed_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    if permanent and provider is not None and await fall_back(session, message, now=now):
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message.id)
            .values(provider_reason=_fell_back(reason))
            .execution_options(synchronize_session=False)
        )
    return state


FELL_BACK = "; sent by SMS instead"


def _fell_back(reason: str) -> str:
    return reason[: 500 - len(FELL_BACK)] + FELL_BACK


async def fall_back(session: AsyncSession, message: OutboxMessage, *, now: datetime) -> bool:
    """Queue, due now, the SMS that stands in for a WhatsApp message that failed: the same
    recipient, kind of message, parameters and language, `about` the same thing (a cancel
    cancels it too), its own idempotency key (the original's + ":sms") and `fallback_of`
    naming the original. Never twice for one message, never for one whose moment has passed,
    and never when what it was about was cancelled meanwhile (a message about it was
    cancelled). Whether it was queued."""
    if message.channel != Channel.WHATSAPP or message.fallback_of is not None:
        return False
    if message.expires_at is not None and message.expires_at <= now:
        return False
    key = f"{message.idempotency_key}:sms"[:200]
    found = await session.execute(
        select(col(OutboxMessage.id)).where(col(OutboxMessage.idempotency_key) == key)
    )
    if found.first() is not None:
        return False
    if message.about is not None:
        cancelled = await session.execute(
            select(col(OutboxMessage.id))
            .where(
                col(OutboxMessage.about) == message.about,
                col(OutboxMessage.recipient_account_id) == message.recipient_account_id,
                col(OutboxMessage.state) == State.CANCELLED,
            )
            .limit(1)
        )
        if cancelled.first() is not None:
            return False
    session.add(
        OutboxMessage(
            recipient_account_id=message.recipient_account_id,
            channel=Channel.SMS,
            template=message.template,
            language=message.language,
            parameters=dict(message.parameters),
            about=message.about,
            idempotency_key=key,
            not_before=now,
            next_attempt_at=now,
            expires_at=message.expires_at,
            fallback_of=message.id,
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return True


async def expire(session: AsyncSession, *, now: datetime) -> int:
    """Messages whose moment passed before any provider took them (a reminder of a consult
    already begun, a channel with no provider configured) are dead, with that reason."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.state).in_(WAITING),
            col(OutboxMessage.expires_at).is_not(None),
            col(OutboxMessage.expires_at) <= now,
        )
        .values(
            state=State.DEAD,
            provider_reason="its moment passed before it could be sent",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def record_receipt(
    session: AsyncSession,
    *,
    provider: str,
    provider_message_id: str,
    delivered: bool,
    reason: str | None,
    now: datetime,
) -> bool:
    """A provider's delivery receipt (its verified status callback): `delivered` (the only way
    a message becomes so; a second receipt, "read" after "delivered", keeps the first time), or
    `dead` with the provider's reason, and a failed WhatsApp message goes by SMS instead
    (`fall_back`). A receipt for a message no longer `sent` (already dead) changes nothing.
    False when no message of that provider has that id."""
    found = await session.execute(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.provider) == provider,
            col(OutboxMessage.provider_message_id) == provider_message_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    message = found.scalars().first()
    if message is None:
        return False
    if delivered and message.state in (State.SENT, State.DELIVERED):
        message.state = State.DELIVERED
        message.delivered_at = message.delivered_at or now
        message.updated_at = now
    elif not delivered and message.state == State.SENT:
        said = reason or "the provider could not deliver it"
        fell = await fall_back(session, message, now=now)
        message.state = State.DEAD
        message.provider_reason = _fell_back(said) if fell else said[:500]
        message.updated_at = now
    return True
