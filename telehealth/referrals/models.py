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


class Referral(SQLModel, table=True):
    """A clinic's referral of a registered patient to a specialty (NOM-004-SSA3-2012's referral
    note: sending establishment, clinical summary, diagnostic impression, treatment given), and
    the specialist's answer: in writing, or a consult and its counter-referral. Every change
    bumps `version` under a condition on it, so two specialists accepting at once cannot both
    win. Once given, the written answer and the counter-referral are never changed: the
    database refuses it (trigger `referral_answer_kept`, migration `2026-12-03_0730`). A later
    migration that rebuilds this table on SQLite (`batch_alter_table`) drops the trigger and
    must create it again."""

    __table_args__ = (sa.Index("ix_referral_open", "state", "specialty", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    patient_account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    referred_by: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    specialty: str = Field(max_length=40)
    urgency: str = Field(max_length=16)
    reason: str = Field(max_length=500)
    clinical_summary: str = Field(max_length=4000)
    diagnostic_impression: str = Field(max_length=1000)
    treatment_given: str = Field(max_length=2000)
    language: str = Field(max_length=16)
    interpreter_language: str | None = Field(default=None, max_length=16)
    state: str = Field(max_length=16)
    practitioner_id: uuid.UUID | None = Field(default=None, foreign_key="practitioner.id")
    declined_by: uuid.UUID | None = Field(
        default=None,
        description="The specialist who declined a referral they had not accepted: they see it "
        "as a waiting referral is seen (without the patient's identity), never as its specialist. "
        "A practitioner's id; no foreign key, so SQLite adds the column without rebuilding the "
        "table that others point at.",
    )
    decline_reason: str | None = Field(default=None, max_length=500)
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    appointment_id: uuid.UUID | None = Field(
        default=None, foreign_key="appointment.id", ondelete="SET NULL", unique=True
    )
    counter_referral: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1


class ReferralEvent(SQLModel, table=True):
    """What happened to a referral, written in the same transaction as the change; the
    notifications and webhooks to come read from here."""

    __tablename__ = "referral_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referral.id", ondelete="CASCADE", index=True)
    type: str = Field(max_length=32)
    state: str = Field(max_length=16)
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    actor_account_id: uuid.UUID | None = None
