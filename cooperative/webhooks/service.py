"""Webhook use cases over an AsyncSession: they flush, never commit.

Endpoints belong to an app: its owner and admins manage them; anyone else gets 404, as for an
app that does not exist. `emit` is called by the layer that made a change, in its transaction:
a rolled-back change sends nothing. The dispatcher's side (`claim`, `record`) follows the
outbox's: a claim under a token with SKIP LOCKED, the answer recorded only by the holder."""

import asyncio
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts
from cooperative.apps import service as apps
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, paginate
from cooperative.kernel.principal import Principal, Scope
from cooperative.notifications import service as notifications
from cooperative.notifications.rules import RetryPolicy, State
from cooperative.webhooks import rules
from cooperative.webhooks.errors import EndpointDisabled, UnsafeWebhookUrl
from cooperative.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from cooperative.webhooks.rules import EventType
from cooperative.webhooks.schemas import (
    AttemptPublic,
    DeliveryPublic,
    EndpointCreate,
    EndpointPublic,
    EndpointUpdate,
    EndpointWithSecret,
)


@dataclass(frozen=True, slots=True)
class Config:
    """`allow_private`: development only (http and private, loopback addresses); `grace`: how
    long the previous secret signs too after a rotation; an endpoint is switched off after
    `disable_after_dead` dead deliveries in a row or failing for longer than
    `disable_after`."""

    allow_private: bool = False
    grace: timedelta = timedelta(hours=24)
    disable_after_dead: int = 5
    disable_after: timedelta = timedelta(days=3)
    policy: RetryPolicy = rules.POLICY


async def resolve(host: str) -> list[str]:
    """The addresses `host` resolves to now (none if it does not)."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})


async def safe_addresses(url: str, *, allow_private: bool) -> list[str] | None:
    """The addresses a delivery to `url` may connect to now, or None when its host resolves to
    any that it may not (checked at registration and before every attempt: a host re-pointed
    at a private address since is refused then). A host that does not resolve gives []."""
    host = urlsplit(url).hostname or ""
    addresses = await resolve(host)
    if any(not rules.address_allowed(a, allow_private=allow_private) for a in addresses):
        return None
    return addresses


async def _checked_url(url: str, config: Config) -> str:
    if rules.url_problem(url, allow_private=config.allow_private) is not None:
        raise UnsafeWebhookUrl()
    if await safe_addresses(url, allow_private=config.allow_private) is None:
        raise UnsafeWebhookUrl()
    return url


def endpoint_public(endpoint: WebhookEndpoint) -> EndpointPublic:
    return EndpointPublic(
        id=endpoint.id,
        client_id=endpoint.client_id,
        url=endpoint.url,
        event_types=endpoint.event_types,
        description=endpoint.description,
        is_active=endpoint.is_active,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        previous_secret_until=endpoint.previous_until
        if endpoint.previous_secret is not None
        else None,
        created_at=endpoint.created_at,
    )


def _with_secret(endpoint: WebhookEndpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**endpoint_public(endpoint).model_dump(), secret=endpoint.secret)


async def create(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    data: EndpointCreate,
    config: Config,
) -> EndpointWithSecret:
    """A new endpoint of the app, with its `whsec_` secret (in this answer only)."""
    client = await apps.visible(session, principal, client_id)
    url = await _checked_url(data.url, config)
    now = clock.now()
    endpoint = WebhookEndpoint(
        client_id=client.id,
        url=url,
        event_types=sorted({e.value for e in data.event_types}),
        description=data.description,
        secret=rules.new_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return _with_secret(endpoint)


async def listed(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[EndpointPublic]:
    client = await apps.visible(session, principal, client_id)
    found, next_cursor = await paginate(
        session,
        select(WebhookEndpoint).where(col(WebhookEndpoint.client_id) == client.id),
        time_column=col(WebhookEndpoint.created_at),
        id_column=col(WebhookEndpoint.id),
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[endpoint_public(e) for e in found], next_cursor=next_cursor)


async def visible(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    """The endpoint, to its app's owner or an admin; NotFound to anyone else."""
    client = await apps.visible(session, principal, client_id)
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.client_id != client.id:
        raise NotFound()
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    config: Config,
) -> EndpointPublic:
    endpoint = await visible(session, principal, client_id, endpoint_id)
    if data.url is not None:
        endpoint.url = await _checked_url(data.url, config)
    if data.event_types is not None:
        endpoint.event_types = sorted({e.value for e in data.event_types})
    if data.description is not None:
        endpoint.description = data.description
    if data.is_active is not None:
        endpoint.is_active = data.is_active
        if data.is_active:  # switched on again: its failures start over
            endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
            endpoint.consecutive_dead = 0
        else:
            endpoint.disabled_at = endpoint.disabled_at or clock.now()
            endpoint.disabled_reason = endpoint.disabled_reason or "switched off by its owner"
    endpoint.updated_at = clock.now()
    await session.flush()
    return endpoint_public(endpoint)


async def remove(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    endpoint = await visible(session, principal, client_id, endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    config: Config,
) -> EndpointWithSecret:
    """A new secret, shown once; the one before still signs too for `config.grace`."""
    endpoint = await visible(session, principal, client_id, endpoint_id)
    now = clock.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_until = now + config.grace
    endpoint.secret = rules.new_secret()
    endpoint.updated_at = now
    await session.flush()
    return _with_secret(endpoint)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the one before it during
    its grace."""
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_until and now < endpoint.previous_until:
        found.append(endpoint.previous_secret)
    return found


async def _attempts(
    session: AsyncSession, delivery_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[AttemptPublic]]:
    rows = await session.execute(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(list(delivery_ids)))
        .order_by(col(WebhookAttempt.at), col(WebhookAttempt.id))
    )
    found: dict[uuid.UUID, list[AttemptPublic]] = {}
    for attempt in rows.scalars():
        found.setdefault(attempt.delivery_id, []).append(
            AttemptPublic(
                at=attempt.at,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                replay=attempt.replay,
            )
        )
    return found


def _delivery_public(delivery: WebhookDelivery, attempts: list[AttemptPublic]) -> DeliveryPublic:
    waiting = delivery.state in (State.QUEUED, State.FAILED)
    return DeliveryPublic(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        state=delivery.state,
        attempts=attempts,
        next_attempt_at=delivery.next_attempt_at if waiting else None,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[DeliveryPublic]:
    """The endpoint's delivery log, newest first: each event, its state and its attempts."""
    endpoint = await visible(session, principal, client_id, endpoint_id)
    found, next_cursor = await paginate(
        session,
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id),
        time_column=col(WebhookDelivery.created_at),
        id_column=col(WebhookDelivery.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    attempts = await _attempts(session, [d.id for d in found])
    return Page(
        items=[_delivery_public(d, attempts.get(d.id, [])) for d in found],
        next_cursor=next_cursor,
    )


async def replay(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> DeliveryPublic:
    """Send a delivery again now, with the same `webhook-id` (a receiver that already has it
    ignores it): it is queued with a fresh set of attempts. One waiting already: as it is."""
    endpoint = await visible(session, principal, client_id, endpoint_id)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound()
    if not endpoint.is_active:
        raise EndpointDisabled()
    now = clock.now()
    if delivery.state not in (State.QUEUED, State.FAILED, State.SENDING):
        delivery.state = State.QUEUED
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.replay_pending = True
        delivery.updated_at = now
        await session.flush()
    attempts = await _attempts(session, [delivery.id])
    return _delivery_public(delivery, attempts.get(delivery.id, []))


# --- events -----------------------------------------------------------------------------------


def _covers(scope: str | None, needed: str) -> bool:
    return scope is None or needed in scope.split()


async def _listening(
    session: AsyncSession,
    event_type: EventType,
    *,
    account_id: uuid.UUID | None,
    clinic_id: uuid.UUID | None,
) -> list[WebhookEndpoint]:
    """The active endpoints subscribed to `event_type` of active approved apps allowed to hear
    it: holding an unrevoked grant of the member concerned (`account_id`) with the scope the
    event needs (governance events: a grant of any member), or the clinic's own app for its
    clinic's appointments and referrals (`clinic_id`)."""
    needed = rules.NEEDS[event_type].value
    governance = needed == Scope.GOVERNANCE_VOTE.value
    rows = await session.scalars(
        select(WebhookEndpoint).where(col(WebhookEndpoint.is_active).is_(True))
    )
    subscribed = [e for e in rows.all() if event_type.value in e.event_types]
    if not subscribed:
        return []
    clients = await apps.live(session, {e.client_id for e in subscribed})
    allowed: set[uuid.UUID] = set()
    if governance or account_id is not None:
        grants = await accounts.app_grants(
            session, list(clients), None if governance else account_id
        )
        allowed = {client_id for client_id, scope in grants if _covers(scope, needed)}
    if clinic_id is not None and not governance:
        allowed |= {c.id for c in clients.values() if c.clinic_id == clinic_id}
    return [e for e in subscribed if e.client_id in clients and e.client_id in allowed]


async def emit(
    session: AsyncSession,
    event_type: EventType,
    data: dict[str, Any],
    *,
    account_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
) -> str | None:
    """Queue the event for every endpoint that may hear it, in the caller's transaction. Its
    payload is thin (`rules.thin_payload`: ids and times). The event's id (its `webhook-id`),
    or None when no endpoint listens."""
    endpoints = await _listening(session, event_type, account_id=account_id, clinic_id=clinic_id)
    if not endpoints:
        return None
    now = clock.now()
    event_id = f"msg_{uuid.uuid4().hex}"
    payload = rules.thin_payload(event_type, data, at=now)
    rows = [
        {
            "id": uuid.uuid4(),
            "endpoint_id": endpoint.id,
            "event_id": event_id,
            "event_type": event_type.value,
            "payload": payload,
            "idempotency_key": f"{event_id}:{endpoint.id}",
            "state": State.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "replay_pending": False,
        }
        for endpoint in endpoints
    ]
    # plain rows in one INSERT: no object kept in the caller's session
    await session.execute(insert(WebhookDelivery), rows)
    return event_id


# --- the dispatcher's side --------------------------------------------------------------------


async def claim(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries (and any whose dispatcher's lease ran out) of active
    endpoints, oldest due first; each counts one more attempt."""
    token = uuid.uuid4()
    due = (
        select(col(WebhookDelivery.id))
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(
            col(WebhookEndpoint.is_active).is_(True),
            or_(
                and_(
                    col(WebhookDelivery.state).in_([State.QUEUED, State.FAILED]),
                    col(WebhookDelivery.next_attempt_at) <= now,
                ),
                and_(
                    col(WebhookDelivery.state) == State.SENDING,
                    col(WebhookDelivery.claimed_until) < now,
                ),
            ),
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_(due.scalar_subquery()))
        .values(
            state=State.SENDING,
            claim_token=token,
            claimed_until=now + lease,
            attempts=col(WebhookDelivery.attempts) + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    taken = await session.execute(
        select(WebhookDelivery)
        .where(col(WebhookDelivery.claim_token) == token)
        .order_by(col(WebhookDelivery.next_attempt_at))
        .execution_options(populate_existing=True)
    )
    return list(taken.scalars())


async def endpoints_of(
    session: AsyncSession, deliveries_: Iterable[WebhookDelivery]
) -> dict[uuid.UUID, WebhookEndpoint]:
    ids = {d.endpoint_id for d in deliveries_}
    rows = await session.execute(select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(ids)))
    return {e.id: e for e in rows.scalars()}


async def record(
    session: AsyncSession,
    delivery: WebhookDelivery,
    token: uuid.UUID,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    config: Config,
    now: datetime,
) -> str | None:
    """Record an attempt's outcome (2xx: delivered; anything else: retried after the policy's
    backoff, dead after the last attempt). A dead delivery counts against its endpoint, which
    is switched off (its owner told) when it keeps failing. The new state, or None if this
    dispatcher no longer held the delivery."""
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        state, retry_at = State.DELIVERED, None
    else:
        state, retry_at = config.policy.after_failure(delivery.attempts, now, permanent=False)
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery.id,
            col(WebhookDelivery.claim_token) == token,
            col(WebhookDelivery.state) == State.SENDING,
        )
        .values(
            state=state,
            last_status_code=status_code,
            last_error=(error or None) and error[:300],
            next_attempt_at=retry_at or delivery.next_attempt_at,
            delivered_at=now if ok else None,
            claimed_until=None,
            replay_pending=False,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            at=now,
            status_code=status_code,
            error=(error or None) and error[:300],
            duration_ms=duration_ms,
            replay=delivery.replay_pending,
        )
    )
    await _count_against(session, delivery.endpoint_id, state, config=config, now=now)
    await session.flush()
    return state


async def _count_against(
    session: AsyncSession, endpoint_id: uuid.UUID, state: str, *, config: Config, now: datetime
) -> None:
    """A delivered attempt clears the endpoint's failures; a failed one counts (a dead delivery
    too) and switches it off, its owner told, when it keeps failing."""
    endpoint = await session.get(
        WebhookEndpoint, endpoint_id, with_for_update=True, populate_existing=True
    )
    if endpoint is None:
        return
    if state == State.DELIVERED:
        endpoint.consecutive_dead, endpoint.failing_since = 0, None
        return
    endpoint.failing_since = endpoint.failing_since or now
    if state == State.DEAD:
        endpoint.consecutive_dead += 1
    if endpoint.is_active and rules.should_disable(
        endpoint.consecutive_dead,
        endpoint.failing_since,
        now=now,
        after_dead=config.disable_after_dead,
        after=config.disable_after,
    ):
        await _disable(session, endpoint, now=now)


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Switch the endpoint off and tell its app's owner (through the outbox)."""
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = "kept failing"
    endpoint.updated_at = now
    client = (await apps.live(session, {endpoint.client_id})).get(endpoint.client_id)
    if client is None:
        return
    await notifications.enqueue(
        session,
        recipient=client.owner_account_id,
        template="webhook.disabled",
        parameters={
            "app": client.name,
            "url": endpoint.url,
            "client_id": str(client.id),
            "endpoint_id": str(endpoint.id),
        },
        idempotency_key=f"webhook.disabled:{endpoint.id}:{now.isoformat()}",
        not_before=now,
    )
