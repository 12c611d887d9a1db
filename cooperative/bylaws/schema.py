"""The shape of a bylaws document. Every number in it is configuration, documented in default.toml.

Percentages are whole percents (fee-class bounds) or basis points (`_bp`, 1% = 100 bp) so that
every computation stays in exact integer or rational arithmetic. Money is integer minor units
per ISO 4217 currency.
"""

import tomllib
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from cooperative.kernel.money import CURRENCIES, Currency
from cooperative.kernel.schemas import InputModel

Percent = Annotated[int, Field(ge=0, le=1000)]
BasisPoints = Annotated[int, Field(ge=0, le=10_000)]
Minor = Annotated[int, Field(ge=0)]
UsRegion = Literal["48", "AK", "HI"]


class _Strict(InputModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    en: str
    es: str


class MemberClass(_Strict):
    label: Label
    share_price: dict[Currency, Minor] = Field(description="One share, per currency.")
    max_share_instalments: int = Field(ge=1, le=60, description="1 = paid at once.")
    votes: bool = True


class NonMembers(_Strict):
    may_book: bool
    consult_fee: dict[Currency, Minor]


class FeeClass(_Strict):
    code: str = Field(min_length=1, max_length=8)
    label: Label
    max_percent: Percent | None = Field(
        default=None,
        description="Inclusive upper bound of the household's % of the poverty line; "
        "none for the last, full-price class.",
    )
    nominal: bool = Field(default=False, description="A flat nominal charge (HRSA).")
    dues: dict[Currency, Minor]
    consult_fee: dict[Currency, Minor]


class SlidingScale(_Strict):
    attestation_valid_months: int = Field(ge=1, le=36)
    classes: list[FeeClass] = Field(min_length=2)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        bounds = [c.max_percent for c in self.classes]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError("only the last fee class is open-ended (max_percent omitted)")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(set(finite)):
            raise ValueError("fee classes must be ordered by strictly increasing max_percent")
        if len({c.code for c in self.classes}) != len(self.classes):
            raise ValueError("fee class codes must be unique")
        return self

    @property
    def full_price(self) -> FeeClass:
        return self.classes[-1]


class UsRegionLine(_Strict):
    first_person: int = Field(gt=0, description="US dollars a year for a household of one.")
    each_additional: int = Field(gt=0, description="US dollars a year for each further person.")


class UsGuidelines(_Strict):
    year: int
    effective: date
    source: str
    regions: dict[UsRegion, UsRegionLine]


class MxPovertyLine(_Strict):
    effective: date
    source: str
    urban_monthly_minor: Minor = Field(description="MXN centavos per person per month.")
    rural_monthly_minor: Minor
    urban_extreme_monthly_minor: Minor | None = None
    rural_extreme_monthly_minor: Minor | None = None


class PovertyLines(_Strict):
    us: list[UsGuidelines] = Field(min_length=1)
    mx: list[MxPovertyLine] = Field(min_length=1)


class Dues(_Strict):
    period_months: int = Field(ge=1, le=12)
    due_days: int = Field(
        ge=0, le=90, description="Days after the period starts that dues fall due."
    )
    grace_days: int = Field(ge=0, le=365, description="Days past due before a membership lapses.")


class Scheduling(_Strict):
    late_cancellation_hours: int = Field(
        default=24, ge=0, le=24 * 14, description="A cancellation this close to the start is late."
    )


Method = Literal["majority", "instant_runoff", "stv", "approval"]


class VotingRule(_Strict):
    method: Method
    threshold_numerator: int = Field(default=1, ge=1)
    threshold_denominator: int = Field(default=2, ge=1)
    strictly_greater: bool = Field(
        default=True, description="Yes must exceed the threshold (a simple majority) or reach it."
    )
    majority_in_each_class: bool = False
    quorum_bp: BasisPoints = 0
    quorum_in_each_class: bool = False
    seats: dict[str, int] = Field(default_factory=dict)
    top_n: int | None = None


class Governance(_Strict):
    proxies_allowed: bool = False
    results_hidden_until_close: bool = True
    initiative_cosigners: int = Field(ge=0)
    initiative_min_voting_hours: int = Field(
        default=72, ge=0, le=24 * 90, description="The shortest vote a member initiative gets."
    )
    rules: dict[str, VotingRule]


class Waterfall(_Strict):
    reserve_bp: BasisPoints
    reserve_cap_bp_of_share_capital: BasisPoints
    education_bp: BasisPoints
    welfare_bp: BasisPoints
    class_split_bp: dict[str, BasisPoints]
    min_cash_bp: BasisPoints
    min_patronage_minor: dict[Currency, Minor]
    admin_patronage_kinds: list[str] = Field(
        default_factory=lambda: ["adjustment"],
        description="Kinds of patronage an admin may record by hand, with a note.",
    )
    min_patronage_minutes: int = Field(
        default=0, ge=0, description="The threshold for classes whose patronage is consult minutes."
    )
    redemption_years: int = Field(ge=0, le=30)

    @model_validator(mode="after")
    def _splits_sum(self) -> Self:
        if sum(self.class_split_bp.values()) != 10_000:
            raise ValueError("class_split_bp must sum to 10000 (100%)")
        return self


class Bylaws(_Strict):
    """A complete bylaws document."""

    title: str
    member_classes: dict[str, MemberClass] = Field(min_length=1)
    non_members: NonMembers
    sliding_scale: SlidingScale
    poverty_lines: PovertyLines
    dues: Dues
    scheduling: Scheduling = Scheduling()
    governance: Governance
    surplus: Waterfall

    @model_validator(mode="after")
    def _priced_in_every_currency(self) -> Self:
        """Households pay in MXN or USD, so every price must exist in both."""
        prices: list[tuple[str, dict[Currency, int]]] = [
            ("non_members.consult_fee", self.non_members.consult_fee),
            *(
                (f"member_classes.{k}.share_price", v.share_price)
                for k, v in self.member_classes.items()
            ),
            *((f"fee class {c.code} dues", c.dues) for c in self.sliding_scale.classes),
            *(
                (f"fee class {c.code} consult_fee", c.consult_fee)
                for c in self.sliding_scale.classes
            ),
        ]
        for where, amounts in prices:
            missing = set(CURRENCIES) - set(amounts)
            if missing:
                raise ValueError(f"{where} has no price in {', '.join(sorted(missing))}")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        unknown = set(self.surplus.class_split_bp) - set(self.member_classes)
        if unknown:
            raise ValueError(f"surplus split names unknown member classes: {sorted(unknown)}")
        for kind, rule in self.governance.rules.items():
            strange = set(rule.seats) - set(self.member_classes)
            if strange:
                raise ValueError(f"{kind}: seats for unknown member classes {sorted(strange)}")
        return self


def parse_toml(text: str) -> Bylaws:
    return Bylaws.model_validate(tomllib.loads(text))
