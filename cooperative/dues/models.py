"""Share subscriptions, invoices (dues and share instalments), payments and their allocations."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class ShareSubscription(SQLModel, table=True):
    __tablename__ = "share_subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", unique=True)
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    instalments: int
    bylaws_version: int = Field(foreign_key="bylaws_version.number")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Invoice(SQLModel, table=True):
    """Something owed: a household's dues for a period, or an instalment of a member's share."""

    __table_args__ = (sa.CheckConstraint("paid_minor <= amount_minor", name="not_overpaid"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=8, description="dues or share")
    dedupe_key: str = Field(max_length=120, unique=True)
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    period: str = Field(max_length=16)
    amount_minor: int = Field(ge=0, sa_type=BigInteger)
    paid_minor: int = Field(default=0, ge=0, sa_type=BigInteger)
    currency: str = Field(max_length=3)
    fee_class: str | None = Field(default=None, max_length=8)
    bylaws_version: int = Field(foreign_key="bylaws_version.number")
    due_on: date
    issued_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class Payment(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("payer_account_id", "idempotency_key", name="uq_payment_idempotency"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    payer_account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    amount_minor: int = Field(gt=0, sa_type=BigInteger)
    currency: str = Field(max_length=3)
    exchange_rate: str | None = Field(
        default=None, max_length=32, description="Target units per paid unit, as a decimal string."
    )
    settled_minor: int = Field(sa_type=BigInteger, description="In the target's currency.")
    settled_currency: str = Field(max_length=3)
    credit_minor: int = Field(
        default=0, ge=0, sa_type=BigInteger, description="What no invoice has absorbed yet."
    )
    method: str | None = Field(default=None, max_length=32)
    reference: str | None = Field(default=None, max_length=120)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_digest: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class PaymentAllocation(SQLModel, table=True):
    __tablename__ = "payment_allocation"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True)
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True)
    amount_minor: int = Field(gt=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
