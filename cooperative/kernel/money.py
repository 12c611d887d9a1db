"""Money is integer minor units plus an ISO 4217 code; never a float."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

Currency = Literal["MXN", "USD"]
CURRENCIES: tuple[Currency, ...] = ("MXN", "USD")

# ISO 4217 minor-unit exponents of the currencies Tequio prices in.
MINOR_EXPONENT: dict[str, int] = {"MXN": 2, "USD": 2}


def convert(amount_minor: int, source: str, target: str, rate: Decimal) -> int:
    """`amount_minor` of `source` in `target` minor units, at `rate` target units per source unit.

    Rounds half to even, once, at the end (banker's rounding: no drift over many payments).
    """
    if rate <= 0:
        raise ValueError("an exchange rate must be positive")
    scale = Decimal(10) ** (MINOR_EXPONENT[target] - MINOR_EXPONENT[source])
    return int((Decimal(amount_minor) * rate * scale).to_integral_value(ROUND_HALF_EVEN))


def format_minor(amount_minor: int, currency: str) -> str:
    """`12345, "MXN"` -> `"MXN 123.45"`, for people (notices, explanations), never for sums."""
    exponent = MINOR_EXPONENT[currency]
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{currency} {sign}{whole:,}.{fraction:0{exponent}d}"
