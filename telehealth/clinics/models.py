import uuid
from datetime import datetime

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
    """A patient registered with a clinic, whose staff may then book for them once the patient
    has accepted (nobody is signed up to a clinic without consent)."""

    __tablename__ = "clinic_patient"

    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    registered_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    registered_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
