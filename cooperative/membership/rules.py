"""Pure membership rules: CURP validation, regions, and the good-standing predicate (over the
debts the dues domain reports)."""

import re
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

from cooperative.dues.rules import Debt

_CURP = re.compile(
    r"^[A-Z][AEIOUX][A-Z]{2}"  # initials
    r"[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"  # date of birth YYMMDD
    r"[HMX]"  # sex as registered (X since 2022)
    r"(AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL"
    r"|VZ|YN|ZS|NE)"  # state of birth, NE = born abroad
    r"[B-DF-HJ-NP-TV-Z]{3}"  # inner consonants
    r"[0-9A-Z]"  # homonym differentiator: digit if born before 2000, letter after
    r"[0-9]$"  # check digit
)
_CURP_ALPHABET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"


def curp_check_digit(first17: str) -> int:
    """RENAPO's check digit: weights 18..2 over the first 17 characters, modulo 10."""
    total = sum(_CURP_ALPHABET.index(char) * (18 - i) for i, char in enumerate(first17))
    return (10 - total % 10) % 10


def normalize_curp(value: str) -> str:
    """An upper-cased CURP whose format and check digit are valid; ValueError otherwise."""
    curp = value.strip().upper()
    if not _CURP.match(curp):
        raise ValueError("a CURP has 18 characters: 4 letters, birth date, sex, state, 5 more")
    century = 1900 if curp[16].isdigit() else 2000
    try:
        date(century + int(curp[4:6]), int(curp[6:8]), int(curp[8:10]))
    except ValueError as exc:
        raise ValueError("the CURP's birth date does not exist") from exc
    if curp_check_digit(curp[:17]) != int(curp[17]):
        raise ValueError("the CURP's check digit does not match; please check it")
    return curp


MX_STATES = frozenset(
    [
        "AGU",
        "BCN",
        "BCS",
        "CAM",
        "CHP",
        "CHH",
        "CMX",
        "COA",
        "COL",
        "DUR",
        "GUA",
        "GRO",
        "HID",
        "JAL",
        "MEX",
        "MIC",
        "MOR",
        "NAY",
        "NLE",
        "OAX",
        "PUE",
        "QUE",
        "ROO",
        "SLP",
        "SIN",
        "SON",
        "TAB",
        "TAM",
        "TLA",
        "VER",
        "YUC",
        "ZAC",
    ]
)
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)


def normalize_subdivision(country: str, code: str) -> str:
    """An ISO 3166-2 subdivision (`MX-OAX`, `US-CA`), accepting the bare code (`OAX`, `ca`)."""
    country = country.strip().upper()
    if country not in ("MX", "US"):
        raise ValueError("not a country Tequio serves: Mexico (MX) or the United States (US)")
    bare = code.strip().upper().removeprefix(f"{country}-")
    states = MX_STATES if country == "MX" else US_STATES
    if bare not in states:
        raise ValueError(f"not a state of {country} (ISO 3166-2, e.g. MX-OAX or US-CA)")
    return f"{country}-{bare}"


def us_region(subdivision: str) -> str:
    """The HHS guideline group of a US state: Alaska, Hawaii, or the 48 contiguous states + DC."""
    return {"US-AK": "AK", "US-HI": "HI"}.get(subdivision, "48")


class MemberStatus(StrEnum):
    APPLICANT = "applicant"
    ACTIVE = "active"
    LAPSED = "lapsed"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


def effective_status(
    recorded: MemberStatus, debts: Iterable[Debt], *, today: date, grace_days: int
) -> MemberStatus:
    """An active member lapses while anything they owe is unpaid more than `grace_days` past due.

    Lapsing is derived, never stored: paying what is overdue restores the member at once.
    """
    if recorded != MemberStatus.ACTIVE:
        return recorded
    cutoff = today - timedelta(days=grace_days)
    if any(debt.outstanding_minor > 0 and debt.due_on < cutoff for debt in debts):
        return MemberStatus.LAPSED
    return MemberStatus.ACTIVE


def in_good_standing(
    recorded: MemberStatus, debts: Iterable[Debt], *, today: date, grace_days: int
) -> bool:
    """The predicate booking and voting use: an active member with nothing overdue past grace."""
    status = effective_status(recorded, debts, today=today, grace_days=grace_days)
    return status == MemberStatus.ACTIVE
