"""A prescription (receta) as issued: every field the Reglamento de Insumos para la Salud arts.
28-31 asks for, copied at issue time so that it reads the same forever. Once issued, the database
refuses any change but its revocation and its verification count (a trigger, see the migration
`2026-12-02_1930_prescriptions`)."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class Prescription(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True, description="The verification code, ungrouped.")
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", index=True)
    practitioner_id: uuid.UUID = Field(foreign_key="practitioner.id", index=True)
    patient_account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    dependent_id: uuid.UUID | None = Field(
        default=None, foreign_key="dependent.id", ondelete="SET NULL"
    )
    issued_by: uuid.UUID = Field(foreign_key="account.id")
    issued_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    issued_on: date = Field(description="The date, in the cooperative's time zone.")
    prescriber_name: str = Field(max_length=160)
    prescriber_cedula: str = Field(max_length=40)
    prescriber_specialty: str | None = Field(default=None, max_length=120)
    prescriber_specialty_cedula: str | None = Field(default=None, max_length=40)
    institution_name: str = Field(max_length=200)
    institution_address: str = Field(max_length=300)
    patient_name: str = Field(max_length=160)
    language: str = Field(max_length=8, description="The language of the instructions.")
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    indications: str | None = Field(default=None, max_length=2000)
    digest: str = Field(max_length=64, description="SHA-256 of the content as issued.")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: uuid.UUID | None = None
    revocation_reason: str | None = Field(default=None, max_length=500)
    verification_count: int = Field(default=0, sa_type=sa.BigInteger)
    last_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
