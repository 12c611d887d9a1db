"""What crosses the API about exchange rates. A rate is a decimal string, never a float."""

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.money import Currency
from cooperative.kernel.schemas import InputModel
from cooperative.treasury import rules


def _decimal_string(value: Any) -> Decimal:
    """Only a string: a JSON number is a float in most clients and loses digits."""
    if not isinstance(value, str):
        raise PydanticCustomError(
            "decimal_string", 'give the rate as a decimal string, e.g. "17.25"'
        )
    try:
        rate = Decimal(value.strip())
    except InvalidOperation as exc:
        raise PydanticCustomError(
            "decimal_string", 'give the rate as a decimal string, e.g. "17.25"'
        ) from exc
    if not rate.is_finite() or rate <= 0:
        raise PydanticCustomError("rate_positive", "a rate is a positive number")
    if rules.decimal_places(rate) > rules.MAX_DECIMAL_PLACES:
        raise PydanticCustomError(
            "rate_decimals",
            "a rate has at most {places} decimals",
            {"places": rules.MAX_DECIMAL_PLACES},
        )
    if not rules.within_bounds(rate):
        raise PydanticCustomError(
            "rate_bounds",
            "a rate lies between {low} and {high}",
            {"low": str(rules.MIN_RATE), "high": str(rules.MAX_RATE)},
        )
    return rate


Rate = Annotated[Decimal, BeforeValidator(_decimal_string)]


class ExchangeRateCreate(InputModel):
    """A rate the treasurer enters: how many `to_currency` units one `from_currency` unit buys,
    in force from `effective_on` (in the cooperative's zone) until a later one for the pair.

    Bounded: positive, at most 8 decimals, between 0.001 and 1000, dated from 2000-01-01 to a
    week ahead. A rate more than 20% away from the one in force that day needs
    `confirm_large_change: true`. Rows are never edited: a correction is a new row for the
    same day, and the last entered wins.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "from_currency": "USD",
                    "to_currency": "MXN",
                    "rate": "17.2543",
                    "effective_on": "2026-12-02",
                    "note": "Banxico FIX publicado en el DOF",
                }
            ]
        },
    )

    from_currency: Currency = Field(description="The currency paid.")
    to_currency: Currency = Field(description="The currency owed.")
    rate: Rate = Field(
        json_schema_extra={"type": "string", "examples": ["17.2543"]},
        description="`to_currency` units per `from_currency` unit, as a decimal string.",
    )
    effective_on: date = Field(description="The first day it is in force.")
    note: str | None = Field(default=None, max_length=500, description="Its source, say.")
    confirm_large_change: bool = Field(
        default=False, description="Say so when it moves more than 20% from the rate in force."
    )

    @model_validator(mode="after")
    def _two_currencies(self) -> Self:
        if self.from_currency == self.to_currency:
            raise PydanticCustomError("same_currency", "a rate converts between two currencies")
        return self


class ExchangeRatePublic(BaseModel):
    id: uuid.UUID
    from_currency: str
    to_currency: str
    rate: str = Field(examples=["17.2543"])
    effective_on: date
    note: str | None
    large_change_confirmed: bool
    entered_by: uuid.UUID = Field(description="The treasurer (or admin) who entered it.")
    entered_at: Moment
