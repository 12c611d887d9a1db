"""What crosses the API about invoices, payments and balances. Money: integer minor units."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

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
    issued_at: datetime


class PaymentCreate(InputModel):
    """Pay a household's dues (`household_id`) or a member's share (`member_id`).

    A payment in another currency than the one owed must give the `exchange_rate` used (units of
    the owed currency per unit paid); both amounts are recorded. Paying more than is owed leaves
    a credit that settles the next invoices.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "household_id": "2b1f4c9e-8a1d-4c55-9d61-0d7e0c4b9a10",
                    "amount_minor": 1500,
                    "currency": "USD",
                    "exchange_rate": "17.25",
                    "method": "remittance",
                }
            ]
        },
    )

    household_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    amount_minor: int = Field(gt=0, le=10**12)
    currency: Currency
    exchange_rate: Decimal | None = Field(
        default=None, gt=0, le=100_000, max_digits=18, decimal_places=8
    )
    method: Literal["cash", "card", "transfer", "remittance", "other"] | None = None
    reference: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.household_id is None) == (self.member_id is None):
            raise PydanticCustomError("one_target", "give either household_id or member_id")
        return self


class AllocationPublic(BaseModel):
    invoice_id: uuid.UUID
    amount_minor: int


class PaymentPublic(BaseModel):
    id: uuid.UUID
    payer_account_id: uuid.UUID
    household_id: uuid.UUID | None
    member_id: uuid.UUID | None
    amount_minor: int
    currency: str
    exchange_rate: str | None
    settled_minor: int = Field(description="The amount in the currency owed.")
    settled_currency: str
    allocations: list[AllocationPublic]
    credit_minor: int = Field(description="What no invoice has absorbed yet.")
    method: str | None
    reference: str | None
    received_at: datetime


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
