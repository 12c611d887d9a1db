import uuid
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class Practitioner(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", unique=True)
    display_name: str = Field(max_length=120)
    specialties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    timezone: str = Field(max_length=64)
    slot_minutes: int = 30
    buffer_minutes: int = 0
    min_notice_minutes: int = 120
    horizon_days: int = 60
    active: bool = True
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class PractitionerTag(SQLModel, table=True):
    """What slot search filters practitioners by, a row per value, so that a filter is an
    indexed lookup rather than a read of every profile: a specialty (`kind` "specialty"), or
    the primary subtag of a language spoken (`kind` "language": "es" for "es-MX")."""

    __tablename__ = "practitioner_tag"
    __table_args__ = (sa.Index("ix_practitioner_tag_value", "kind", "value"),)

    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", primary_key=True
    )
    kind: str = Field(max_length=16, primary_key=True)
    value: str = Field(max_length=40, primary_key=True)


class Licence(SQLModel, table=True):
    """A licence to practise in a jurisdiction: `MX` (cédula profesional) or `US-CA`, `US-TX`…"""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", index=True
    )
    jurisdiction: str = Field(max_length=8)
    number: str = Field(max_length=40)
    specialty_cedula: str | None = Field(
        default=None,
        max_length=40,
        description="In Mexico, the cédula de especialidad of a doctor who has one; a "
        "prescription carries it beside the cédula profesional.",
    )
    expires_on: date
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class AvailabilityWindow(SQLModel, table=True):
    """Weekly availability in the practitioner's local wall time."""

    __tablename__ = "availability_window"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", index=True
    )
    weekday: int = Field(ge=0, le=6)
    start: time
    end: time


class ExtraWindow(SQLModel, table=True):
    """An exception adding availability on one local date."""

    __tablename__ = "extra_window"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", index=True
    )
    day: date
    start: time
    end: time
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class TimeOff(SQLModel, table=True):
    __tablename__ = "time_off"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    practitioner_id: uuid.UUID = Field(
        foreign_key="practitioner.id", ondelete="CASCADE", index=True
    )
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
