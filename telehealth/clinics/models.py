import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class Clinic(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    jurisdiction: str = Field(max_length=8, description="MX-OAX, US-CA…")
    municipality: str = Field(max_length=120)
    rural: bool = False
    timezone: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class ClinicStaff(SQLModel, table=True):
    __tablename__ = "clinic_staff"

    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)


class ClinicPatient(SQLModel, table=True):
    """A patient who accepted a clinic's registration: its staff may book for them. Until the
    patient accepts, the registration waits in `clinic_registration`."""

    __tablename__ = "clinic_patient"

    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    registered_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    registered_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClinicRegistration(SQLModel, table=True):
    """A clinic's registration of a patient by phone or email, waiting for the patient.

    The contact is kept only as a keyed hash, whether or not an account has it, so the clinic
    learns nothing until the patient accepts; whoever signs in with that contact, now or once
    they sign up, sees it. (`account_id` only on registrations made before contacts were kept
    this way.)"""

    __tablename__ = "clinic_registration"
    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "contact_hash", name="uq_clinic_registration_contact"),
        sa.CheckConstraint(
            "contact_hash IS NOT NULL OR account_id IS NOT NULL", name="has_patient"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE", index=True)
    contact_hash: str | None = Field(default=None, max_length=64, index=True)
    account_id: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="CASCADE", index=True
    )
    registered_by: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    registered_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    code_hash: str | None = Field(
        default=None,
        max_length=64,
        description="Keyed hash of the one-time code staff give the patient in person or by "
        "phone; accepting needs it (None: made before codes, cannot be accepted).",
    )
    code_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_attempts: int = 0
