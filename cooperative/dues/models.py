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
    """Money paid towards a household's dues or a member's share. A member *reports* it; it
    settles nothing until a treasurer confirms it (or records it as received, confirmed at
    once). Payments recorded before confirmations existed are `confirmed` with no
    `confirmed_by`: they settled invoices when the member recorded them."""

    __table_args__ = (
        sa.UniqueConstraint("payer_account_id", "idempotency_key", name="uq_payment_idempotency"),
        sa.CheckConstraint(
            "status IN ('reported', 'confirmed', 'rejected', 'withdrawn')", name="known_status"
        ),
        sa.CheckConstraint(
            "(status = 'confirmed') = (settled_minor IS NOT NULL)", name="settled_when_confirmed"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    payer_account_id: uuid.UUID = Field(
        foreign_key="account.id",
        index=True,
        description="Who reported it, or the treasurer who recorded it as received.",
    )
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    status: str = Field(default="reported", max_length=10, index=True)
    amount_minor: int = Field(gt=0, sa_type=BigInteger)
    currency: str = Field(max_length=3)
    exchange_rate: str | None = Field(
        default=None, max_length=32, description="Target units per paid unit, as a decimal string."
    )
    exchange_rate_id: uuid.UUID | None = Field(
        default=None,
        foreign_key="exchange_rate.id",
        description="The rate row it was converted at.",
    )
    settled_minor: int | None = Field(
        default=None, sa_type=BigInteger, description="In the target's currency, once confirmed."
    )
    settled_currency: str = Field(max_length=3)
    credit_minor: int = Field(
        default=0, ge=0, sa_type=BigInteger, description="What no invoice has absorbed yet."
    )
    method: str | None = Field(default=None, max_length=32)
    reference: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=500)
    received_on: date | None = Field(
        default=None,
        description="The day the money was received, in the cooperative's zone (the day "
        "reported until a treasurer confirms it).",
    )
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_digest: str | None = Field(default=None, max_length=64)
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    confirmed_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejected_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_reason: str | None = Field(default=None, max_length=500)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    receipt_media_type: str | None = Field(default=None, max_length=16)
    receipt_bytes: int | None = None
    receipt_sha256: str | None = Field(default=None, max_length=64)
    receipt_uploaded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PaymentAllocation(SQLModel, table=True):
    __tablename__ = "payment_allocation"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True)
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True)
    amount_minor: int = Field(gt=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
