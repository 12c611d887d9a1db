"""Appointments and their event log. Statuses follow FHIR Appointment.status (see rules)."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime
from telehealth.scheduling.rules import HOLDING, AppointmentStatus

_HOLDS_TIME = f"status IN ({', '.join(repr(str(status)) for status in HOLDING)})"


class Appointment(SQLModel, table=True):
    __table_args__ = (
        # The database itself refuses a second live booking of one practitioner at one start,
        # on SQLite and PostgreSQL alike; overlaps at other starts are refused inside a
        # transaction serialized per practitioner (see service.book).
        sa.Index(
            "uq_appointment_live_start",
            "practitioner_id",
            "start",
            unique=True,
            sqlite_where=sa.text(_HOLDS_TIME),
            postgresql_where=sa.text(_HOLDS_TIME),
        ),
        sa.UniqueConstraint("booked_by", "idempotency_key", name="uq_appointment_idempotency"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    practitioner_id: uuid.UUID = Field(foreign_key="practitioner.id", index=True)
    patient_account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    dependent_id: uuid.UUID | None = Field(
        default=None, foreign_key="dependent.id", ondelete="SET NULL"
    )
    booked_by: uuid.UUID = Field(foreign_key="account.id")
    clinic_id: uuid.UUID | None = Field(default=None, foreign_key="clinic.id", index=True)
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16, default=AppointmentStatus.BOOKED)
    patient_jurisdiction: str = Field(max_length=8)
    reason: str | None = Field(default=None, max_length=500)
    referral_reason: str | None = Field(default=None, max_length=1000)
    preferred_language: str = Field(max_length=16)
    interpreter_needed: bool = False
    fee_minor: int = Field(sa_type=sa.BigInteger)
    fee_currency: str = Field(max_length=3)
    fee_class: str = Field(max_length=16)
    fee_explanation: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    bylaws_version: int = Field(foreign_key="bylaws_version.number")
    needs_reschedule: bool = False
    late_cancellation: bool = False
    status_reason: str | None = Field(default=None, max_length=500)
    status_changed_by: uuid.UUID | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_digest: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class AppointmentEvent(SQLModel, table=True):
    """What happened to an appointment, written in the same transaction; reminders and webhooks
    read from here."""

    __tablename__ = "appointment_event"
    __table_args__ = (
        # a cancel or reschedule sent with an Idempotency-Key: its event keeps the key, once
        # per account (see cooperative.kernel.idempotency)
        sa.UniqueConstraint(
            "actor_account_id", "idempotency_key", name="uq_appointment_event_idempotency"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", index=True)
    type: str = Field(max_length=32)
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    actor_account_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_digest: str | None = Field(default=None, max_length=64)


class OpenSlot(SQLModel, table=True):
    """An open slot, kept so that a search is an indexed range scan (`telehealth.scheduling.
    openings`): the slots the rules lay out that no time off and no live appointment (widened
    by the buffer) blocks. Whether `now` lets it be booked is in `opens_at` (its start less the
    horizon) and `closes_at` (its start less the minimum notice), so that the same rows serve
    every moment; `rank` orders slots that start together fairly."""

    __tablename__ = "open_slot"
    __table_args__ = (
        # the search's order, then what it filters on and returns: read from the index alone
        sa.Index(
            "ix_open_slot_order",
            "start",
            "rank",
            "practitioner_id",
            "closes_at",
            "opens_at",
            "end",
        ),
    )

    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", primary_key=True
    )
    start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    end: datetime = Field(sa_type=UTCDateTime)
    rank: int
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)


class SlotCoverage(SQLModel, table=True):
    """The span a practitioner's open slots were laid out for: while now is between `since` and
    `fresh_until` (the end less the horizon), the rows answer every search completely."""

    __tablename__ = "slot_coverage"

    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", primary_key=True
    )
    since: datetime = Field(sa_type=UTCDateTime, index=True)
    until: datetime = Field(sa_type=UTCDateTime)
    fresh_until: datetime = Field(sa_type=UTCDateTime, index=True)


class OpenSlotFacet(SQLModel, table=True):
    """An open slot again under each value a search may filter by (`kind` "specialty",
    "language" or "jurisdiction": a licence's), so that a filtered search is a range scan of
    that value's slots alone. Without it, a filter that goes with the time of day (the licences
    and languages of a region, whose working hours come at one time in UTC) makes the search
    walk every other region's slots before its first match: a cost that grows with the number
    of doctors. Deleting the open slot deletes these rows with it."""

    __tablename__ = "open_slot_facet"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["practitioner_id", "start"],
            ["open_slot.practitioner_id", "open_slot.start"],
            ondelete="CASCADE",
        ),
        sa.Index(
            "ix_open_slot_facet_order",
            "kind",
            "value",
            "start",
            "rank",
            "practitioner_id",
            "closes_at",
            "opens_at",
            "end",
        ),
    )

    practitioner_id: uuid.UUID = Field(primary_key=True)
    start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)
    value: str = Field(max_length=40, primary_key=True)
    end: datetime = Field(sa_type=UTCDateTime)
    rank: int
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
