import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class AccessLogEntry(SQLModel, table=True):
    """Someone other than a member read that member's personal or health data."""

    __tablename__ = "access_log"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subject_account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", index=True)
    accessor_account_id: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    accessor_role: str = Field(max_length=32)
    resource: str = Field(max_length=80)
    action: str = Field(max_length=16)
    request_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(
        default=None, max_length=500, description="Why, when the reader had to say (an admin)."
    )
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    client_id: uuid.UUID | None = Field(
        default=None, description="The app (OAuth2 client) that made the read, if one did."
    )
