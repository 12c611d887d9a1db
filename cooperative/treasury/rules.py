"""Pure rules of the exchange-rate table the treasurer keeps: what a rate may be, when it may
take effect, and when a change is large enough to need saying so.

A rate is the number of `to_currency` units one `from_currency` unit buys (USD→MXN 17.25).
"""

from datetime import date, timedelta
from decimal import Decimal

MIN_RATE = Decimal("0.001")  # 1/1000
MAX_RATE = Decimal(1000)
MAX_DECIMAL_PLACES = 8
LARGE_CHANGE = Decimal("0.20")  # more than 20% from the rate in force needs confirming
EARLIEST = date(2000, 1, 1)
MAX_DAYS_AHEAD = 7  # a rate may be entered a few days before it takes effect, no further


def within_bounds(rate: Decimal) -> bool:
    return MIN_RATE <= rate <= MAX_RATE


def decimal_places(rate: Decimal) -> int:
    exponent = rate.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: the schema refuses NaN and infinities
    return max(0, -exponent)


def normalized(rate: Decimal) -> str:
    """The rate as its shortest plain decimal string: `17.2500` -> `17.25`, `1E+2` -> `100`."""
    return format(rate.normalize(), "f")


def latest_effective(today: date) -> date:
    return today + timedelta(days=MAX_DAYS_AHEAD)


def effective_date_allowed(effective_on: date, today: date) -> bool:
    return EARLIEST <= effective_on <= latest_effective(today)


def is_large_change(previous: Decimal, new: Decimal) -> bool:
    """More than LARGE_CHANGE away from the previous rate, in either direction."""
    return abs(new - previous) > previous * LARGE_CHANGE
