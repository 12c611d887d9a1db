"""The outbox: one row per message to one person, written in the same transaction as the change
that causes it, so a rolled-back change leaves none and a committed one is never forgotten."""

import uuid
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401  (naming convention before any table)
)
from cooperative.kernel.types import UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """A message, its state and the story of its delivery.

    `parameters` hold what the template is filled with and nothing else (never health data;
    each template names the parameters it takes). `about` names what the message is about
    ("appointment:<id>"), so a change to it finds its messages (a cancel cancels them).
    `next_attempt_at` is when a dispatcher may next take it; `claimed_until` how long the
    dispatcher that took it keeps it (`sending`). `fallback_of` is set on an SMS queued because
    the WhatsApp message it names failed."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_message_idempotency_key"),
        # what a dispatcher scans: the due messages, oldest first
        sa.Index("ix_outbox_message_due", "state", "next_attempt_at"),
        # a member's list of their messages, latest due first
        sa.Index("ix_outbox_message_recipient", "recipient_account_id", "not_before", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    recipient_account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE")
    channel: str = Field(max_length=16)
    template: str = Field(max_length=64)
    language: str = Field(max_length=8)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    about: str | None = Field(default=None, max_length=80, index=True)
    # where it goes when not to the account's own contact: a code for a contact not yet the
    # account's (a change of phone or email) goes there and nowhere else
    address: str | None = Field(default=None, max_length=254)
    idempotency_key: str = Field(max_length=200)
    state: str = Field(max_length=16, default="queued")
    not_before: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: uuid.UUID | None = None
    provider: str | None = Field(default=None, max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=200)
    provider_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # an SMS sent because this WhatsApp message failed names it here (never a second time)
    fallback_of: uuid.UUID | None = None


class NotificationPreference(SQLModel, table=True):
    """How a member wants to be reached; no row means the defaults (email if the account has
    one, else SMS; no WhatsApp; no quiet hours; the account's language; no sponsor reminders).

    Each channel's opt-in is kept with the time it was given and the time it was last
    withdrawn (WhatsApp requires a recorded opt-in before a business writes first).
    `channel_order` lists the opted-in channels, preferred first. Quiet hours are local times
    of the member's zone (the account's, else the cooperative's); `quiet_start` after
    `quiet_end` wraps midnight (21:00–08:00). `sponsor_reminders`: the household's sponsor
    may receive this member's consult reminders (and their dependents')."""

    __tablename__ = "notification_preference"

    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    email_opted_in: bool = False
    email_opted_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    email_opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sms_opted_in: bool = False
    sms_opted_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sms_opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    whatsapp_opted_in: bool = False
    whatsapp_opted_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    whatsapp_opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel_order: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    quiet_start: time | None = Field(default=None, sa_type=sa.Time)
    quiet_end: time | None = Field(default=None, sa_type=sa.Time)
    sponsor_reminders: bool = False
    sponsor_consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sponsor_withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
