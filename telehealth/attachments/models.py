"""A file added to a consult's record: a lab result, a photo, a document."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class Attachment(SQLModel, table=True):
    """Belongs to one consult (`appointment_id`) or one referral (`referral_id`), never both
    nor neither: the database's `one_owner` check refuses anything else. A real foreign key per
    owner, so the database keeps each attachment tied to something that exists (an "owner kind
    + id" pair could not be a foreign key); the row goes with its owner.

    `patient_account_id` is the consult's or the referral's patient (the responsible member,
    for a dependent), kept here so the access log and the ARCO export find a patient's files
    without a join. The bytes live in the file store under `storage_key`; a withdrawn upload
    keeps its row (who added what, and when it was withdrawn) but not its bytes."""

    __table_args__ = (
        sa.Index("ix_attachment_appointment_created", "appointment_id", "created_at"),
        sa.Index("ix_attachment_referral_created", "referral_id", "created_at"),
        sa.CheckConstraint(
            "(appointment_id IS NULL AND referral_id IS NOT NULL)"
            " OR (appointment_id IS NOT NULL AND referral_id IS NULL)",
            name="one_owner",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID | None = Field(
        default=None, foreign_key="appointment.id", ondelete="CASCADE"
    )
    referral_id: uuid.UUID | None = Field(
        default=None, foreign_key="referral.id", ondelete="CASCADE"
    )
    patient_account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    uploaded_by: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    uploader_role: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    title: str | None = Field(default=None, max_length=200)
    file_name: str = Field(max_length=200)
    media_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
