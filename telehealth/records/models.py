"""What the clinical record stores: consents to remote care and the doctor's notes.

A signed note (and a signed addendum) is immutable: the database refuses an UPDATE or a DELETE
of a row whose `signed_at` is set, on SQLite and PostgreSQL alike (see the migration)."""

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

_MAIN_NOTE = "addendum_to IS NULL"


class TelehealthConsent(SQLModel, table=True):
    """A patient's consent to be seen remotely, once per person and version of the text. For a
    dependent, the household's responsible member gives it (`given_by`)."""

    __tablename__ = "telehealth_consent"
    __table_args__ = (
        sa.UniqueConstraint("subject_id", "version", name="uq_telehealth_consent_version"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subject_id: uuid.UUID = Field(description="The dependent's id, or the patient's account id.")
    patient_account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", index=True)
    dependent_id: uuid.UUID | None = Field(
        default=None, foreign_key="dependent.id", ondelete="SET NULL"
    )
    version: int
    language: str = Field(max_length=2)
    text_digest: str = Field(max_length=64, description="SHA-256 of the text as it was shown.")
    given_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    given_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ClinicalNote(SQLModel, table=True):
    """The treating doctor's note of a consult (or, with `addendum_to`, an addendum to it).
    A draft changes with each save (`version` counts them); signing stamps the signer, the
    time and the SHA-256 digest of the canonical content, and freezes the row."""

    __tablename__ = "clinical_note"
    __table_args__ = (
        sa.Index(
            "uq_clinical_note_one_per_consult",
            "appointment_id",
            unique=True,
            sqlite_where=sa.text(_MAIN_NOTE),
            postgresql_where=sa.text(_MAIN_NOTE),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", index=True)
    addendum_to: uuid.UUID | None = Field(default=None, foreign_key="clinical_note.id")
    patient_account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    dependent_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID = Field(foreign_key="practitioner.id")
    kind: str = Field(max_length=20, description="evolution, interconsultation or addendum")
    version: int = 1
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signer_name: str | None = Field(default=None, max_length=120)
    signer_licence: str | None = Field(default=None, max_length=40)
    signer_jurisdiction: str | None = Field(default=None, max_length=8)
    digest: str | None = Field(default=None, max_length=64)
