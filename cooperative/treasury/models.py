"""The exchange-rate table: append-only, each row dated and signed by whoever entered it."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class ExchangeRate(SQLModel, table=True):
    """`rate` units of `to_currency` per unit of `from_currency`, in force from `effective_on`
    until a later row for the pair takes effect. Rows are never changed or deleted (the database
    refuses): a correction is a new row, and of rows for the same day the last entered wins."""

    __tablename__ = "exchange_rate"
    __table_args__ = (
        sa.CheckConstraint("from_currency <> to_currency", name="two_currencies"),
        sa.Index("ix_exchange_rate_pair_day", "from_currency", "to_currency", "effective_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    from_currency: str = Field(max_length=3)
    to_currency: str = Field(max_length=3)
    rate: str = Field(max_length=32, description="A decimal string, at most 8 decimals.")
    effective_on: date
    note: str | None = Field(default=None, max_length=500)
    large_change_confirmed: bool = False
    entered_by: uuid.UUID = Field(foreign_key="account.id")
    entered_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
