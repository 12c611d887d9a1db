"""The fee explanation never contradicts the class it explains (issue 14, item 18): a household a
cent over a bound is not told the bound's figure, and the 2025 US guidelines count from the
notice's own date."""

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.bylaws.defaults import default_bylaws
from cooperative.dues.rules import (
    HouseholdIncome,
    NoPovertyLine,
    compare,
    fee_class_for,
    shown_percent,
)

BYLAWS = default_bylaws()
SCALE = BYLAWS.sliding_scale


@pytest.mark.parametrize(
    ("income_minor", "code", "figure", "near"),
    [
        (3_192_000, "D", "200.00", None),  # exactly 200% of $15,960 is still class D
        (3_192_001, "E", "200.01", "just-over"),  # a cent over: E, and never "200.00"
        (1_596_000, "A", "100.00", None),
        (1_596_001, "B", "100.01", "just-over"),
        (2_122_680, "B", "133.00", None),
        (2_122_681, "C", "133.01", "just-over"),
        (3_192_100, "E", "200.01", None),  # far enough over to read 200.01 by itself
    ],
)
def test_a_us_household_of_one_at_the_bounds(
    income_minor: int, code: str, figure: str, near: str | None
) -> None:
    income = HouseholdIncome("US", 1, income_minor, "annual")
    percent = compare(income, BYLAWS.poverty_lines, date(2026, 6, 1)).percent
    shown = shown_percent(percent, SCALE)
    assert (fee_class_for(percent, SCALE).code, shown.figure, shown.near) == (code, figure, near)


def test_a_rural_mexican_household_a_centavo_over_the_line() -> None:
    income = HouseholdIncome("MX", 1, 346_577, "monthly", area="rural")
    percent = compare(income, BYLAWS.poverty_lines, date(2026, 6, 1)).percent
    shown = shown_percent(percent, SCALE)
    assert fee_class_for(percent, SCALE).code == "B"
    assert (shown.figure, shown.near, shown.bound) == ("100.01", "just-over", "100")


@given(st.fractions(min_value=0, max_value=400))
def test_the_figure_shown_is_always_in_the_class_charged(percent: Fraction) -> None:
    shown = shown_percent(percent, SCALE)
    assert fee_class_for(Fraction(shown.hundredths, 100), SCALE) == fee_class_for(percent, SCALE)
    assert abs(Fraction(shown.hundredths, 100) - percent) < Fraction(1, 100)


def test_the_2025_us_guidelines_are_in_force_from_15_january_2025() -> None:
    income = HouseholdIncome("US", 1, 1_565_000, "annual")
    on_the_15th = compare(income, BYLAWS.poverty_lines, date(2025, 1, 15))
    assert (on_the_15th.table, on_the_15th.effective) == (
        "HHS 2025, 48 states + DC",
        date(2025, 1, 15),
    )
    with pytest.raises(NoPovertyLine):  # the bylaws hold no older table
        compare(income, BYLAWS.poverty_lines, date(2025, 1, 14))
