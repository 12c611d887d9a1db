"""Requests and answers of surplus allocation."""

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from cooperative.kernel.moments import Moment
from cooperative.kernel.money import Currency
from cooperative.kernel.schemas import InputModel


class RunCreate(InputModel):
    fiscal_year: int = Field(ge=2000, le=2200)
    net_surplus_minor: int = Field(
        ge=-(10**15), le=10**15, description="From the cooperative's accounts; negative: deficit."
    )
    currency: Currency
    rates: dict[Currency, Annotated[Decimal, Field(gt=0, le=1_000_000, allow_inf_nan=False)]] = (
        Field(
            default_factory=dict,
            description="Year-end rates: units of `currency` per unit of another currency that "
            'patronage was paid in, e.g. {"USD": "17.25"} for a run in MXN.',
        )
    )


class RunPublic(BaseModel):
    id: uuid.UUID
    fiscal_year: int
    currency: str
    status: str
    net_surplus_minor: int
    rates: dict[str, str]
    bylaws_version: int
    input_digest: str
    summary: dict[str, Any]
    members: int
    proposal_id: uuid.UUID | None
    created_at: Moment
    posted_at: Moment | None
    reversed_at: Moment | None


class Reason(InputModel):
    reason: str = Field(min_length=3, max_length=500)


class JournalLinePublic(BaseModel):
    account: str
    member_id: uuid.UUID | None
    currency: str
    debit_minor: int
    credit_minor: int


class JournalEntryPublic(BaseModel):
    id: uuid.UUID
    kind: str
    memo: str
    reverses_id: uuid.UUID | None
    posted_at: Moment
    lines: list[JournalLinePublic]


class PatronageCreate(InputModel):
    member_id: uuid.UUID
    fiscal_year: int = Field(ge=2000, le=2200)
    kind: str = Field(pattern=r"^[a-z][a-z_]{2,31}$", description="One the bylaws define.")
    amount: int = Field(ge=-(10**12), le=10**12, description="In the member class's unit.")
    unit: Literal["MXN", "USD", "minutes"]
    note: str = Field(min_length=3, max_length=500, description="Why: the audit trail.")


class PatronagePublic(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID
    fiscal_year: int
    kind: str
    amount: int
    unit: str
    source: str
    reverses_id: uuid.UUID | None
    recorded_by: uuid.UUID | None
    note: str | None
    created_at: Moment


class CapitalAccountPublic(BaseModel):
    member_id: uuid.UUID
    retained: dict[str, int] = Field(description="Patronage refunds retained, per currency.")
    cash_payable: dict[str, int] = Field(description="Cash refunds owed, per currency.")
