"""The rate table's pure rules, and the only ways a payment's status may move."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.dues.errors import PaymentNotPending
from cooperative.dues.rules import PaymentAction, PaymentStatus, transition
from cooperative.treasury import rules

RATES = st.decimals(min_value=rules.MIN_RATE, max_value=rules.MAX_RATE, places=8, allow_nan=False)


@given(RATES)
def test_a_rate_is_stored_as_its_shortest_plain_decimal(rate: Decimal) -> None:
    text = rules.normalized(rate)
    assert Decimal(text) == rate
    assert "E" not in text and not text.endswith(".")
    assert "." not in text or not text.endswith("0")


@pytest.mark.parametrize(
    ("rate", "text"), [("17.2500", "17.25"), ("100", "100"), ("1E+2", "100"), ("0.001", "0.001")]
)
def test_normalized_examples(rate: str, text: str) -> None:
    assert rules.normalized(Decimal(rate)) == text


@given(RATES, st.decimals(min_value=Decimal("0.5"), max_value=2, places=4))
def test_a_large_change_is_more_than_a_fifth_either_way(previous: Decimal, factor: Decimal) -> None:
    new = previous * factor
    assert rules.is_large_change(previous, new) == (abs(factor - 1) > Decimal("0.2"))


def test_dates_from_2000_to_a_week_ahead() -> None:
    today = date(2026, 12, 31)
    assert rules.effective_date_allowed(date(2000, 1, 1), today)
    assert not rules.effective_date_allowed(date(1999, 12, 31), today)
    assert rules.effective_date_allowed(date(2027, 1, 7), today)
    assert not rules.effective_date_allowed(date(2027, 1, 8), today)


@pytest.mark.parametrize(
    ("status", "action", "outcome"),
    [
        ("reported", "confirm", PaymentStatus.CONFIRMED),
        ("reported", "reject", PaymentStatus.REJECTED),
        ("reported", "withdraw", PaymentStatus.WITHDRAWN),
        ("confirmed", "confirm", None),  # a retry: the first confirmation stands
        ("rejected", "reject", None),
        ("withdrawn", "withdraw", None),
    ],
)
def test_only_a_reported_payment_moves(
    status: str, action: PaymentAction, outcome: PaymentStatus | None
) -> None:
    assert transition(status, action) == outcome


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("confirmed", "reject"),
        ("confirmed", "withdraw"),
        ("rejected", "confirm"),
        ("rejected", "withdraw"),
        ("withdrawn", "confirm"),
        ("withdrawn", "reject"),
    ],
)
def test_a_decided_payment_is_never_decided_otherwise(status: str, action: PaymentAction) -> None:
    with pytest.raises(PaymentNotPending):
        transition(status, action)
