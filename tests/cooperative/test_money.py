"""Money: currency conversion rounds half to even once, and amounts are shown to people."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.kernel.money import convert, format_minor


def test_usd_to_mxn_at_a_decimal_rate() -> None:
    # USD 25.00 at 17.8451 MXN per USD is MXN 446.1275, shown as MXN 446.13
    assert convert(2500, "USD", "MXN", Decimal("17.8451")) == 44613
    assert convert(10_000, "USD", "MXN", Decimal("18.25")) == 182_500
    assert convert(0, "USD", "MXN", Decimal("18.25")) == 0


def test_mxn_to_usd() -> None:
    # MXN 600.00 at 0.0561 USD per MXN is USD 33.66
    assert convert(60_000, "MXN", "USD", Decimal("0.0561")) == 3366


@pytest.mark.parametrize(
    ("cents", "rate", "centavos"),
    [
        (10, "18.25", 182),  # 182.5 -> 182, to the even neighbour
        (30, "18.25", 548),  # 547.5 -> 548
        (1, "2.5", 2),
        (1, "3.5", 4),
        (-10, "18.25", -182),  # a refund rounds the same way
        (-30, "18.25", -548),
    ],
)
def test_halves_round_to_even(cents: int, rate: str, centavos: int) -> None:
    assert convert(cents, "USD", "MXN", Decimal(rate)) == centavos


def test_rounding_happens_once_at_the_end() -> None:
    # 1.451 is 1 to the nearest unit; rounding first to 1.5 then to an integer would give 2
    assert convert(1451, "USD", "MXN", Decimal("0.001")) == 1
    # 3.4999 is 3; rounding to two places first (3.50) and then to an integer would give 4
    assert convert(34_999, "USD", "MXN", Decimal("0.0001")) == 3


@pytest.mark.parametrize("rate", ["0", "-17.5", "-0.0001"])
def test_a_rate_that_is_not_positive_is_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        convert(2500, "USD", "MXN", Decimal(rate))


@given(
    st.integers(-(10**12), 10**12),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000"), places=6),
)
def test_conversion_is_the_exact_product_rounded_half_even(amount: int, rate: Decimal) -> None:
    exact = Fraction(amount) * Fraction(rate)
    assert convert(amount, "USD", "MXN", rate) == round(exact)  # Fraction rounds half to even


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (12345, "MXN", "MXN 123.45"),
        (484_311, "MXN", "MXN 4,843.11"),
        (123_456_789, "USD", "USD 1,234,567.89"),
        (5, "USD", "USD 0.05"),
        (50, "USD", "USD 0.50"),
        (0, "MXN", "MXN 0.00"),
        (-5, "USD", "USD -0.05"),
        (-1_596_000, "USD", "USD -15,960.00"),
    ],
)
def test_format_minor(minor: int, currency: str, shown: str) -> None:
    assert format_minor(minor, currency) == shown


@given(st.integers(-(10**15), 10**15))
def test_format_minor_shows_the_exact_amount(minor: int) -> None:
    shown = format_minor(minor, "MXN")
    assert shown.startswith("MXN ")
    assert Decimal(shown.removeprefix("MXN ").replace(",", "")) * 100 == minor
