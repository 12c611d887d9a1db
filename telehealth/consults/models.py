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
    connection: str | None = Field(
        default=None, max_length=32, description="The socket that made them present."
    )
    invited_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


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
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PrecheckResult(SQLModel, table=True):
    """What a pre-call check measured, kept so a clinic can see whether its link holds video."""

    __tablename__ = "precheck_result"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    clinic_id: uuid.UUID | None = Field(default=None, foreign_key="clinic.id", index=True)
    round_trip_ms: float | None = None
    packet_loss_pct: float | None = None
    jitter_ms: float | None = None
    received_kbps: float | None = None
    relayed: bool | None = None
    video_ok: bool = False
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class ConsultRoom(SQLModel, table=True):
    """A consult's media mode, which worker hosts its server relay, and the recording request."""

    __tablename__ = "consult_room"

    appointment_id: uuid.UUID = Field(
        foreign_key="appointment.id", ondelete="CASCADE", primary_key=True
    )
    mode: str = Field(default="p2p", max_length=8, description="p2p or relay")
    relay_owner: str | None = Field(default=None, max_length=120)
    relay_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recording_requested_by: uuid.UUID | None = None
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class RecordingConsent(SQLModel, table=True):
    """One participant's consent to being recorded: when given and, if so, when withdrawn.
    Giving it again after a withdrawal adds a new row, so the history stays."""

    __tablename__ = "recording_consent"
    __table_args__ = (
        # one standing consent per participant, even when two requests give it at once
        sa.Index(
            "uq_recording_consent_standing",
            "appointment_id",
            "account_id",
            unique=True,
            sqlite_where=sa.text("withdrawn_at IS NULL"),
            postgresql_where=sa.text("withdrawn_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", ondelete="CASCADE", index=True)
    account_id: uuid.UUID = Field(foreign_key="account.id")
    given_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsultRecording(SQLModel, table=True):
    """A recorded segment: a new one starts whenever the people in the room change."""

    __tablename__ = "consult_recording"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", ondelete="CASCADE", index=True)
    file_name: str = Field(max_length=200)
    participants: list[str] = Field(sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stop_reason: str | None = Field(default=None, max_length=32)
    size_bytes: int | None = Field(default=None, sa_type=sa.BigInteger)


class ConsultEvent(SQLModel, table=True):
    """What the room learnt as the consult went on, for its encounter: a participant's socket
    arrived (`joined`) or went (`left`), the room's media `mode` changed (`p2p` or `relay`), a
    participant went to audio only or back to video (`media`: `audio_only` or `video`)."""

    __tablename__ = "consult_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", ondelete="CASCADE", index=True)
    account_id: uuid.UUID | None = None
    kind: str = Field(max_length=8, description="joined, left, mode, media")
    value: str | None = Field(default=None, max_length=16)
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
