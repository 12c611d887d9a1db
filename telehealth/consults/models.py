import uuid
from datetime import datetime
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import tables  # noqa: F401
from cooperative.kernel.types import UTCDateTime, utcnow


class ConsultParticipant(SQLModel, table=True):
    """Someone who may enter a consult's room, and whether the doctor has let them in."""

    __tablename__ = "consult_participant"

    appointment_id: uuid.UUID = Field(
        foreign_key="appointment.id", ondelete="CASCADE", primary_key=True
    )
    account_id: uuid.UUID = Field(foreign_key="account.id", primary_key=True)
    role: str = Field(max_length=16, description="patient, guardian, doctor, clinic, interpreter")
    admitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    present: bool = False
    invited_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignalMemo(SQLModel, table=True):
    """The latest offer or answer addressed to a participant, replayed when they reconnect."""

    __tablename__ = "signal_memo"

    appointment_id: uuid.UUID = Field(
        foreign_key="appointment.id", ondelete="CASCADE", primary_key=True
    )
    to_account_id: uuid.UUID = Field(primary_key=True)
    from_account_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=8, primary_key=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
