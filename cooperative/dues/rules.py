"""Pure rules: the sliding scale, and how a payment settles what a household owes.

The sliding scale compares a household's income with the poverty line for its size:
- US households: annual household income against the HHS poverty guideline for the household's
  size and state group (48 contiguous states and DC, Alaska, Hawaii).
- Mexican households: monthly household income per person against INEGI's income poverty line
  per person per month, urban or rural.
The percentage is an exact fraction; the household's fee class is the first whose `max_percent`
is at least that percentage, so a household at exactly 100% is in the first class.
"""

import calendar
import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Literal, TypeVar

from cooperative.bylaws.schema import (
    FeeClass,
    MxPovertyLine,
    PovertyLines,
    SlidingScale,
    UsGuidelines,
    UsRegion,
)
from cooperative.dues.errors import PaymentNotPending
from cooperative.kernel.errors import TequioError, Text

Country = Literal["MX", "US"]
Area = Literal["urban", "rural"]
IncomePeriod = Literal["annual", "monthly"]
_Table = TypeVar("_Table", UsGuidelines, MxPovertyLine)


class NoPovertyLine(TequioError):
    status = 409
    slug = "no-poverty-line"
    title = Text("No poverty line in force", "No hay línea de pobreza vigente")
    detail = Text(
        "The bylaws have no {table} poverty line in force on {on}.",
        "Los estatutos no tienen una línea de pobreza {table} vigente el {on}.",
    )


@dataclass(frozen=True, slots=True)
class Debt:
    """Something a member owes: dues of their household or an instalment of their share."""

    due_on: date
    outstanding_minor: int


@dataclass(frozen=True, slots=True)
class HouseholdIncome:
    """What the sliding scale may look at: where, how many people, how much income. Nothing else."""

    country: Country
    size: int
    income_minor: int
    period: IncomePeriod
    area: Area = "urban"
    us_region: UsRegion = "48"


@dataclass(frozen=True, slots=True)
class Comparison:
    """The poverty line a household was compared with, and the exact percentage it is at."""

    percent: Fraction
    line_minor: int  # the line for this household over `period`, in the line's minor units
    period: IncomePeriod
    currency: str
    table: str  # e.g. "HHS 2026, 48 states + DC" or "INEGI 2026-01, rural"
    source: str
    effective: date


def us_guideline_dollars(table: UsGuidelines, region: UsRegion, size: int) -> int:
    """The HHS guideline for a household of `size` (base plus the increment per extra person)."""
    line = table.regions[region]
    return line.first_person + (size - 1) * line.each_additional


def _in_force(tables: list[_Table], on: date) -> _Table | None:
    candidates = [t for t in tables if t.effective <= on]
    return max(candidates, key=lambda t: t.effective) if candidates else None


_REGION_NAMES = {"48": "48 states + DC", "AK": "Alaska", "HI": "Hawaii"}


def compare(income: HouseholdIncome, lines: PovertyLines, on: date) -> Comparison:
    """The household's income as an exact percentage of the poverty line in force on `on`."""
    if income.size < 1:
        raise ValueError("a household has at least one person")
    if income.country == "US":
        us = _in_force(lines.us, on)
        if us is None:
            raise NoPovertyLine(table="HHS", on=on)
        annual_minor = us_guideline_dollars(us, income.us_region, income.size) * 100
        line_minor = annual_minor if income.period == "annual" else Fraction(annual_minor, 12)
        return Comparison(
            percent=Fraction(income.income_minor * 100) / Fraction(line_minor),
            line_minor=round(line_minor),
            period=income.period,
            currency="USD",
            table=f"HHS {us.year}, {_REGION_NAMES[income.us_region]}",
            source=us.source,
            effective=us.effective,
        )
    mx = _in_force(lines.mx, on)
    if mx is None:
        raise NoPovertyLine(table="INEGI", on=on)
    per_person = mx.rural_monthly_minor if income.area == "rural" else mx.urban_monthly_minor
    monthly_line = per_person * income.size
    line_minor = monthly_line if income.period == "monthly" else monthly_line * 12
    return Comparison(
        percent=Fraction(income.income_minor * 100, line_minor),
        line_minor=line_minor,
        period=income.period,
        currency="MXN",
        table=f"INEGI {mx.effective:%Y-%m}, {income.area}",
        source=mx.source,
        effective=mx.effective,
    )


def fee_class_for(percent: Fraction, scale: SlidingScale) -> FeeClass:
    """The first class whose inclusive upper bound the percentage does not exceed."""
    for fee_class in scale.classes:
        if fee_class.max_percent is None or percent <= fee_class.max_percent:
            return fee_class
    return scale.full_price


@dataclass(frozen=True, slots=True)
class ShownPercent:
    """A household's percentage as the explanation shows it, to hundredths, never pointing to
    another class than the one it is charged.

    `hundredths` is the nearest hundredth, unless that figure would fall in another class (a
    household a cent over 200% is 200.0006%, which rounds to 200.00%, exactly 200% being class
    D, though it pays class E): then it is the next hundredth toward the household's class
    (200.01), and `near` names the bound it is just over (or under) in words."""

    hundredths: int
    near: Literal["just-over", "just-under"] | None = None
    bound_hundredths: int | None = None

    @property
    def figure(self) -> str:
        """`200.01`, as the explanation's `percent_of_poverty_line` gives it."""
        return _hundredths(self.hundredths)

    @property
    def bound(self) -> str:
        """`200` (whole percents without decimals), the bound named in words."""
        bound = self.bound_hundredths if self.bound_hundredths is not None else self.hundredths
        return str(bound // 100) if bound % 100 == 0 else _hundredths(bound)


def _hundredths(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def shown_percent(percent: Fraction, scale: SlidingScale) -> ShownPercent:
    """The percentage to show beside the household's class (see `ShownPercent`)."""
    nearest = round(percent * 100)
    charged = fee_class_for(percent, scale).code
    if fee_class_for(Fraction(nearest, 100), scale).code == charged:
        return ShownPercent(nearest)
    if percent * 100 > nearest:
        return ShownPercent(math.ceil(percent * 100), "just-over", nearest)
    return ShownPercent(math.floor(percent * 100), "just-under", nearest)


Basis = Literal["attested", "expired", "none"]


@dataclass(frozen=True, slots=True)
class Assessment:
    fee_class: FeeClass
    basis: Basis
    comparison: Comparison | None


def assess(
    income: HouseholdIncome | None,
    *,
    expires_on: date | None,
    scale: SlidingScale,
    lines: PovertyLines,
    on: date,
) -> Assessment:
    """A household's fee class on `on`: from a valid attestation, or full price without one."""
    if income is None:
        return Assessment(scale.full_price, "none", None)
    if expires_on is not None and expires_on <= on:
        return Assessment(scale.full_price, "expired", None)
    comparison = compare(income, lines, on)
    return Assessment(fee_class_for(comparison.percent, scale), "attested", comparison)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class OpenItem:
    key: str
    due_on: date
    outstanding_minor: int


def settle(amount_minor: int, items: list[OpenItem]) -> tuple[list[tuple[str, int]], int]:
    """Apply a payment to what is owed, oldest due first (ties by key); returns the parts and
    what is left over, which becomes a credit."""
    left = amount_minor
    parts: list[tuple[str, int]] = []
    for item in sorted(items, key=lambda i: (i.due_on, i.key)):
        if left <= 0:
            break
        take = min(left, item.outstanding_minor)
        if take > 0:
            parts.append((item.key, take))
            left -= take
    return parts, left


class PaymentStatus(StrEnum):
    REPORTED = "reported"  # pending: a member said they paid; it settles nothing yet
    CONFIRMED = "confirmed"  # a treasurer confirmed the money arrived; it settled what it could
    REJECTED = "rejected"  # a treasurer found no such money; the reason is shown to the payer
    WITHDRAWN = "withdrawn"  # the reporter took it back while pending


PaymentAction = Literal["confirm", "reject", "withdraw"]

_OUTCOME: dict[PaymentAction, PaymentStatus] = {
    "confirm": PaymentStatus.CONFIRMED,
    "reject": PaymentStatus.REJECTED,
    "withdraw": PaymentStatus.WITHDRAWN,
}


def transition(status: str, action: PaymentAction) -> PaymentStatus | None:
    """The status `action` takes a payment to; None when it is there already (a retry, which
    answers the first result). Raises PaymentNotPending when the payment was decided otherwise:
    only a reported payment is confirmed, rejected or withdrawn, and never twice differently."""
    outcome = _OUTCOME[action]
    if status == outcome:
        return None
    if status != PaymentStatus.REPORTED:
        raise PaymentNotPending(status=status)
    return outcome
