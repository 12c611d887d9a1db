"""What crosses the API about invoices, payments and balances. Money: integer minor units."""

import uuid
from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.money import Currency
from cooperative.kernel.schemas import InputModel


class InvoicePublic(BaseModel):
    id: uuid.UUID
    kind: Literal["dues", "share"]
    household_id: uuid.UUID | None
    member_id: uuid.UUID | None
    period: str = Field(description="`2026-11` for dues; `3/10` for a share instalment.")
    amount_minor: int
    paid_minor: int
    outstanding_minor: int
    currency: str
    fee_class: str | None
    bylaws_version: int
    due_on: date
    issued_at: Moment


PaymentMethod = Literal["cash", "card", "transfer", "remittance", "other"]


class PaymentCreate(InputModel):
    """Report a payment of a household's dues (`household_id`) or of a member's share
    (`member_id`), with the `reference` a treasurer can check it by: the remittance or transfer
    number, or "efectivo en la clínica". It stays `reported` and settles nothing until a
    treasurer confirms it. No exchange rate is given here: a payment in another currency is
    converted at the treasurer's rate in force on the day the money was received.

    A treasurer recording money received (cash at the desk, a line of a bank statement) adds
    `received_on`: the payment is then confirmed at once, by that treasurer.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "household_id": "2b1f4c9e-8a1d-4c55-9d61-0d7e0c4b9a10",
                    "amount_minor": 1500,
                    "currency": "USD",
                    "method": "remittance",
                    "reference": "MTCN 0123456789",
                    "note": "Cuota de diciembre, enviada desde Los Ángeles",
                }
            ]
        },
    )

    household_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    amount_minor: int = Field(gt=0, le=10**12)
    currency: Currency
    method: PaymentMethod
    reference: str = Field(
        min_length=1,
        max_length=120,
        description="The remittance or transfer number, or where cash was handed over.",
    )
    note: str | None = Field(default=None, max_length=500)
    received_on: date | None = Field(
        default=None,
        ge=date(2000, 1, 1),
        description="Treasurers only: the day the money was received; confirms it at once.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.household_id is None) == (self.member_id is None):
            raise PydanticCustomError("one_target", "give either household_id or member_id")
        if not self.reference.strip():
            raise PydanticCustomError("blank", "reference must not be blank")
        return self


class PaymentConfirm(InputModel):
    """The treasurer saw the money arrive. `received_on` (default: the day it was reported)
    is the day it arrived, in the cooperative's zone: a payment in another currency than the
    one owed is converted at the rate in force that day."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    received_on: date | None = Field(default=None, ge=date(2000, 1, 1))


class PaymentReject(InputModel):
    """Why no such money arrived; the payer sees it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "No encontramos esa referencia en el estado de cuenta."}]
        },
    )

    reason: str = Field(min_length=1, max_length=500)


class AllocationPublic(BaseModel):
    invoice_id: uuid.UUID
    amount_minor: int


class ReceiptPublic(BaseModel):
    media_type: str = Field(examples=["image/jpeg"])
    bytes: int
    sha256: str = Field(description="Of the stored file (after its metadata was removed).")
    uploaded_at: Moment


class PaymentPublic(BaseModel):
    id: uuid.UUID
    status: Literal["reported", "confirmed", "rejected", "withdrawn"] = Field(
        description="`reported` (pending), `confirmed` by a treasurer, `rejected` by a "
        "treasurer (see `rejection_reason`), or `withdrawn` by who reported it."
    )
    payer_account_id: uuid.UUID = Field(
        description="Who reported it, or the treasurer who recorded it as received."
    )
    household_id: uuid.UUID | None
    member_id: uuid.UUID | None
    amount_minor: int
    currency: str
    method: str | None
    reference: str | None
    note: str | None
    received_on: date | None = Field(
        description="The day the money was received (the day reported, until confirmed)."
    )
    settled_minor: int | None = Field(
        description="The amount in the currency owed; null until confirmed."
    )
    settled_currency: str
    exchange_rate: str | None = Field(description="The rate it was converted at, if any.")
    exchange_rate_id: uuid.UUID | None = Field(
        description="The treasurer's rate row used (null for payments from before the table)."
    )
    allocations: list[AllocationPublic]
    credit_minor: int = Field(description="What no invoice has absorbed yet.")
    recorded_at: Moment = Field(description="When it was reported or recorded.")
    confirmed_by: uuid.UUID | None = Field(
        description="The treasurer who confirmed it; null for payments recorded before "
        "confirmations existed."
    )
    confirmed_at: Moment | None
    rejected_at: Moment | None
    rejection_reason: str | None
    withdrawn_at: Moment | None
    receipt: ReceiptPublic | None = Field(default=None, description="The receipt photo, if any.")


class BalancePublic(BaseModel):
    currency: str | None
    invoiced_minor: int
    paid_minor: int
    outstanding_minor: int
    overdue_minor: int
    credit_minor: int


class CapitalAccountPublic(BaseModel):
    member_id: uuid.UUID
    currency: str
    share_subscribed_minor: int
    share_paid_minor: int
    share_outstanding_minor: int
    instalments: int
    retained_patronage_minor: int = Field(
        default=0, description="Patronage refunds retained in the account (surplus allocation)."
    )


class DuesRunCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-12"])


class DuesRunPublic(BaseModel):
    period: str
    created: int
    already_issued: int
    bylaws_version: int
    skipped: list[uuid.UUID] = Field(description="Households that could not be priced.")
