"""What is stored about webhooks: an app's endpoints (with their signing secrets), one delivery
per event and endpoint, and each attempt at it. A delivery's `payload` is the thin event (its
type, ids and times): never health data."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401  (naming convention before any table)
)
from cooperative.kernel.types import UTCDateTime


class WebhookEndpoint(SQLModel, table=True):
    """A URL of an app that receives the event types it subscribed to, signed with its
    `whsec_` secret (Standard Webhooks). After a rotation `previous_secret` signs too until
    `previous_until`. `disabled_at` is set when it kept failing (or by its owner)."""

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="oauth_client.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=200)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_active: bool = True
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=200)
    consecutive_dead: int = 0
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: `event_id` is its `webhook-id` on every attempt (receivers
    deduplicate by it); the unique `idempotency_key` (event + endpoint) makes a second row for
    them impossible. States as the outbox's: queued, sending, delivered, failed, dead."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key", name="uq_webhook_delivery_idempotency_key"),
        sa.Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_endpoint", "endpoint_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    idempotency_key: str = Field(max_length=200)
    state: str = Field(max_length=16, default="queued")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: uuid.UUID | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replay_pending: bool = False  # its next attempt is a manual replay


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery: when, what the receiver answered (or why nothing came back)."""

    __tablename__ = "webhook_attempt"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(
        foreign_key="webhook_delivery.id", ondelete="CASCADE", index=True
    )
    at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = 0
    replay: bool = False
