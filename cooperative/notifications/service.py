"""Writing to the outbox, in the caller's transaction, and a member's view of what was sent.

A writer (booking a consult, later a vote or an invoice) calls `enqueue` with the session of
the change itself: the message is committed with the change or not at all. Nothing here
commits; the dispatcher (`delivery`) takes the messages once they are due."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock, tables
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.notifications import preferences, templates
from cooperative.notifications.errors import UnknownParameters, UnknownTemplate
from cooperative.notifications.models import OutboxMessage as OutboxMessage  # writers name it
from cooperative.notifications.rules import WAITING, Channel, State
from cooperative.notifications.schemas import NotificationPublic


def _checked(template: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    known = templates.TEMPLATES.get(template)
    if known is None:
        raise UnknownTemplate(template)
    if extra := set(parameters) - known.parameters:
        raise UnknownParameters(f"{template} has no place for {sorted(extra)}")
    return dict(parameters)


async def enqueue(
    session: AsyncSession,
    *,
    recipient: uuid.UUID,
    template: str,
    parameters: Mapping[str, Any],
    idempotency_key: str,
    not_before: datetime,
    expires_at: datetime | None = None,
    about: str | None = None,
    channel: Channel | None = None,
    fresh: bool = False,
    address: str | None = None,
    urgent: bool = False,
) -> OutboxMessage | None:
    """Queue a message to `recipient`'s account, due at `not_before`, in the session's
    transaction (added, not flushed: the caller's flush writes every message it queued in one
    statement). The same `idempotency_key` again returns the message already queued, unless
    `fresh` says the key names something created in this very transaction (no message can have
    it yet, and it is not looked up). An account that is gone or closed gets nothing (None).

    The member's preferences (`preferences`, read once per transaction) choose, unless
    `channel` is given, the channel: the first they opted in to, in their order, that has an
    address on the account (else email when the account has one, SMS otherwise); and the
    language. A message due within their quiet hours waits for them to end, in the member's
    zone (`rules.outside_quiet_hours`: one that would expire by then goes just before they
    began, or at its own time); an `urgent` one (a one-time code) does not wait. `address`
    sends it there rather than to the account's own contact of the channel (a code for a new
    phone)."""
    fields = _checked(template, parameters)
    existing = None if fresh else await by_key(session, idempotency_key)
    if existing is not None:
        return existing
    account = await accounts_service.get(session, recipient)
    if account is None or not account.is_active:
        return None
    prefs = await preferences.of(session, recipient)
    due = preferences.when(account, prefs, not_before, expires_at=expires_at, urgent=urgent)
    message = OutboxMessage(
        recipient_account_id=recipient,
        channel=channel or preferences.channel_for(account, prefs),
        template=template,
        language=preferences.language_for(account, prefs),
        parameters=fields,
        about=about,
        address=address,
        idempotency_key=idempotency_key,
        not_before=due,
        next_attempt_at=due,
        expires_at=expires_at,
    )
    session.add(message)
    return message


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message for `enqueue_new`: what `enqueue` takes, for a key that names something
    created in this very transaction (no message can have it yet)."""

    recipient: uuid.UUID
    template: str
    parameters: Mapping[str, Any]
    idempotency_key: str
    not_before: datetime
    expires_at: datetime | None = None
    about: str | None = None


# The outbox's table: `new_rows` go in as plain rows, no objects (for a writer that inserts
# them in a statement of its own, its columns)
TABLE = tables.table(OutboxMessage)
_INSERT_ROWS = insert(TABLE)


async def enqueue_new(session: AsyncSession, messages: Sequence[NewMessage]) -> int:
    """Queue several messages as `enqueue(..., fresh=True)` would, each choosing its channel,
    language and time the same way, in one INSERT of plain rows: no object is built or kept in
    the session for them (a booking queues three; building them cost more than writing them).
    An account that is gone or closed gets nothing. How many were queued."""
    rows = await new_rows(session, messages)
    if rows:
        await session.execute(_INSERT_ROWS, rows)
    return len(rows)


async def new_rows(session: AsyncSession, messages: Sequence[NewMessage]) -> list[dict[str, Any]]:
    """The outbox rows `enqueue_new` would insert (every column), for a writer that inserts
    them in a statement of its own (a booking on PostgreSQL, with the appointment)."""
    rows: list[dict[str, Any]] = []
    now = clock.now()
    for message in messages:
        fields = _checked(message.template, message.parameters)
        account = await accounts_service.get(session, message.recipient)
        if account is None or not account.is_active:
            continue
        prefs = await preferences.of(session, message.recipient)
        due = preferences.when(
            account, prefs, message.not_before, expires_at=message.expires_at, urgent=False
        )
        rows.append(
            {
                "id": uuid.uuid4(),
                "recipient_account_id": message.recipient,
                "channel": preferences.channel_for(account, prefs),
                "template": message.template,
                "language": preferences.language_for(account, prefs),
                "parameters": fields,
                "about": message.about,
                "idempotency_key": message.idempotency_key,
                "state": State.QUEUED,
                "not_before": due,
                "next_attempt_at": due,
                "expires_at": message.expires_at,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def due_for(
    session: AsyncSession,
    recipient: uuid.UUID,
    not_before: datetime,
    *,
    expires_at: datetime | None,
    urgent: bool = False,
) -> datetime:
    """When a message to `recipient` due at `not_before` may go, their quiet hours considered
    (as `enqueue` does): for a writer that `move`s a waiting message."""
    account = await accounts_service.get(session, recipient)
    if account is None:
        return not_before
    prefs = await preferences.of(session, recipient)
    return preferences.when(account, prefs, not_before, expires_at=expires_at, urgent=urgent)


async def by_key(session: AsyncSession, idempotency_key: str) -> OutboxMessage | None:
    found = await session.execute(
        select(OutboxMessage).where(col(OutboxMessage.idempotency_key) == idempotency_key)
    )
    return found.scalar_one_or_none()


async def waiting_about(session: AsyncSession, about: str, *templates: str) -> list[OutboxMessage]:
    """The messages about `about` from these templates that are still to be sent, locked."""
    found = await session.execute(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.about) == about,
            col(OutboxMessage.template).in_(templates),
            col(OutboxMessage.state).in_(WAITING),
        )
        .with_for_update()
    )
    return list(found.scalars())


async def about(session: AsyncSession, subject: str) -> list[OutboxMessage]:
    """Every message about `subject`, whatever its state."""
    found = await session.execute(select(OutboxMessage).where(col(OutboxMessage.about) == subject))
    return list(found.scalars())


def move(
    message: OutboxMessage,
    *,
    not_before: datetime,
    expires_at: datetime | None,
    parameters: Mapping[str, Any],
    idempotency_key: str,
) -> None:
    """A waiting message due at another time, saying what changed (a rescheduled consult's
    reminder). Its attempts start over."""
    message.parameters = _checked(message.template, parameters)
    message.not_before = message.next_attempt_at = not_before
    message.expires_at = expires_at
    message.idempotency_key = idempotency_key
    message.state = State.QUEUED
    message.attempts = 0
    message.provider_reason = None
    message.updated_at = clock.now()


def cancel(message: OutboxMessage, *, reason: str) -> None:
    """Cancel one waiting message."""
    message.state = State.CANCELLED
    message.provider_reason = reason
    message.updated_at = clock.now()


async def cancel_about(session: AsyncSession, about: str, *, reason: str) -> int:
    """Cancel every message about `about` not sent yet (one being sent at this moment is
    beyond recall); how many."""
    result = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.about) == about, col(OutboxMessage.state).in_(WAITING))
        .values(state=State.CANCELLED, provider_reason=reason, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def notification_public(message: OutboxMessage, *, base_url: str) -> NotificationPublic:
    try:
        shown = templates.render(
            message.template, message.language, message.parameters, base_url=base_url, for_log=True
        )
    except (KeyError, ValueError, TypeError):  # a template since retired: the list still answers
        shown = templates.Rendered(subject="", body="")
    return NotificationPublic(
        id=message.id,
        channel=message.channel,
        template=message.template,
        language=message.language,
        subject=shown.subject,
        body=shown.body,
        state=message.state,
        not_before=message.not_before,
        attempts=message.attempts,
        reason=message.provider_reason,
        fallback_of=message.fallback_of,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        created_at=message.created_at,
    )


async def of_account(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    base_url: str,
    cursor: str | None,
    limit: int | None,
) -> Page[NotificationPublic]:
    """The messages to this account, the latest due first (secrets such as one-time codes
    masked: the list is not a second way to read them)."""
    rows = await paginate(
        session,
        select(OutboxMessage).where(col(OutboxMessage.recipient_account_id) == account_id),
        time_column=col(OutboxMessage.not_before),
        id_column=col(OutboxMessage.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, lambda message: notification_public(message, base_url=base_url))
