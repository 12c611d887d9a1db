"""Stored bylaws versions: immutable once written; a new version supersedes from its date."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class BylawsVersion(SQLModel, table=True):
    __tablename__ = "bylaws_version"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    effective_from: datetime = Field(sa_type=UTCDateTime, index=True)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64, description="SHA-256 of the canonical JSON document.")
    adopted_by: str = Field(max_length=16, description="`install` or `governance`.")
    adopted_by_account_id: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    proposal_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
