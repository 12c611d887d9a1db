"""Pure membership rules: CURP validation, subdivisions and HHS regions, good standing."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.bylaws.defaults import default_bylaws
from cooperative.dues.rules import Debt
from cooperative.membership.rules import (
    MemberStatus,
    curp_check_digit,
    effective_status,
    in_good_standing,
    normalize_curp,
    normalize_subdivision,
    us_region,
)

# Published examples (RENAPO's documentation and the Spanish Wikipedia article on the CURP).
PUBLISHED_CURPS = ["BOXW310820HNERXN09", "HEGG560427MVZRRL04"]


@pytest.mark.parametrize("curp", PUBLISHED_CURPS)
def test_published_curps_are_valid(curp: str) -> None:
    assert normalize_curp(curp) == curp
    assert curp_check_digit(curp[:17]) == int(curp[17])


@pytest.mark.parametrize(
    "typed", ["boxw310820hnerxn09", "  BOXW310820HNERXN09\n", " BoXw310820hNeRxN09 "]
)
def test_a_curp_may_be_typed_in_lower_case_with_spaces_around(typed: str) -> None:
    assert normalize_curp(typed) == "BOXW310820HNERXN09"


@pytest.mark.parametrize(
    ("curp", "reason"),
    [
        ("BOXW310820HNERXN08", "check digit"),  # one off
        ("BOXW310820HNERXN00", "check digit"),
        ("HEGG560427MVZRRL05", "check digit"),
        ("BOXW310230HNERXN0", "18 characters"),  # too short
        ("BOXW310820HNERXN090", "18 characters"),  # too long
        ("", "18 characters"),
        ("BOXW311320HNERXN09", "18 characters"),  # month 13
        ("BOXW310800HNERXN09", "18 characters"),  # day 00
        ("BOXW310820HZZRXN09", "18 characters"),  # ZZ is not a state
        ("BOXW310820HUSRXN09", "18 characters"),  # nor is US
        ("BOXW310820QNERXN09", "18 characters"),  # Q is not a registered sex
        ("BOXW310820HNEAXN09", "18 characters"),  # a vowel among the inner consonants
        ("BOXW3108 0HNERXN09", "18 characters"),
    ],
)
def test_malformed_curps_are_refused(curp: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_curp(curp)


def _with_check_digit(first17: str) -> str:
    return first17 + str(curp_check_digit(first17))


@pytest.mark.parametrize(
    "first17",
    [
        "BOXW310230HNERXN0",  # 30 February
        "BOXW310431HNERXN0",  # 31 April
        "BOXW000229HNERXN0",  # 29 February 1900 (a digit differentiator: born before 2000)
        "BOXW250229HNERXNA",  # 29 February 2025 (a letter: born in 2000 or later)
    ],
)
def test_impossible_birth_dates_are_refused(first17: str) -> None:
    with pytest.raises(ValueError, match="birth date does not exist"):
        normalize_curp(_with_check_digit(first17))


def test_29_february_of_a_leap_year_is_accepted() -> None:
    born_2000 = _with_check_digit("BOXW000229HNERXNA")
    assert normalize_curp(born_2000) == born_2000
    born_1996 = _with_check_digit("BOXW960229MOCRXN0")
    assert normalize_curp(born_1996) == born_1996


def test_sex_x_and_born_abroad_are_accepted() -> None:
    curp = _with_check_digit("BOXW050820XNERXNA")
    assert normalize_curp(curp) == curp


# Random valid CURPs, built from valid parts with their check digit.
_LETTER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CONSONANT = "BCDFGHJKLMNPQRSTVWXYZ"
_STATES = [
    "AS",
    "BC",
    "BS",
    "CC",
    "CL",
    "CM",
    "CS",
    "CH",
    "DF",
    "DG",
    "GT",
    "GR",
    "HG",
    "JC",
    "MC",
    "MN",
    "MS",
    "NT",
    "NL",
    "OC",
    "PL",
    "QT",
    "QR",
    "SP",
    "SL",
    "SR",
    "TC",
    "TS",
    "TL",
    "VZ",
    "YN",
    "ZS",
    "NE",
]  # NE: born abroad
# RENAPO's alphabet for the check digit; Ñ is a valid character there, never in a CURP's format.
_ALPHABET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"


@st.composite
def valid_curps(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    differentiator = draw(st.sampled_from("0123456789" if born.year < 2000 else _LETTER))
    first17 = "".join(
        [
            draw(st.sampled_from(_LETTER)),
            draw(st.sampled_from("AEIOUX")),
            draw(st.text(_LETTER, min_size=2, max_size=2)),
            born.strftime("%y%m%d"),
            draw(st.sampled_from("HMX")),
            draw(st.sampled_from(_STATES)),
            draw(st.text(_CONSONANT, min_size=3, max_size=3)),
            differentiator,
        ]
    )
    return _with_check_digit(first17)


def _refused(curp: str) -> bool:
    try:
        normalize_curp(curp)
    except ValueError:
        return True
    return False


@given(valid_curps())
def test_random_valid_curps_are_accepted(curp: str) -> None:
    assert normalize_curp(curp) == curp
    assert normalize_curp(curp.lower()) == curp


@given(valid_curps(), st.integers(0, 16), st.sampled_from(_ALPHABET))
def test_a_single_typo_is_refused_where_the_check_digit_can_see_it(
    curp: str, position: int, replacement: str
) -> None:
    """Changing one of the first 17 characters breaks the format or the check digit, except the
    typos RENAPO's mod-10 check digit cannot see: weights 18..2 mean a change whose difference
    in alphabet value times the position's weight is a multiple of 10 keeps the same digit."""
    if replacement == curp[position]:
        return
    typo = curp[:position] + replacement + curp[position + 1 :]
    weight = 18 - position
    difference = _ALPHABET.index(replacement) - _ALPHABET.index(curp[position])
    if difference * weight % 10 != 0:
        assert _refused(typo), typo


def test_the_check_digit_cannot_see_every_typo() -> None:
    """The day's tens digit has weight 10: a typo there keeps the check digit (RENAPO's rule,
    so a conforming validator must accept it; the person behind it is checked elsewhere)."""
    assert normalize_curp("BOXW310810HNERXN09") == "BOXW310810HNERXN09"


# Subdivisions (ISO 3166-2) and the HHS guideline region of a US state.


@pytest.mark.parametrize(
    ("country", "code", "expected"),
    [
        ("MX", "oax", "MX-OAX"),
        ("MX", "OAX", "MX-OAX"),
        ("MX", "MX-oax", "MX-OAX"),
        ("MX", " cmx ", "MX-CMX"),
        ("MX", "BCN", "MX-BCN"),
        ("US", "US-ca", "US-CA"),
        ("US", "ca", "US-CA"),
        ("US", "dc", "US-DC"),
        ("US", "AK", "US-AK"),
    ],
)
def test_subdivisions_are_normalized(country: str, code: str, expected: str) -> None:
    assert normalize_subdivision(country, code) == expected


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("MX", "XYZ"),
        ("MX", "CA"),  # a US state is not a Mexican one
        ("MX", "US-CA"),
        ("US", "OAX"),
        ("US", "MX-OAX"),
        ("US", "PR"),  # ISO 3166-2 lists Puerto Rico as its own country, PR
        ("US", ""),
    ],
)
def test_unknown_subdivisions_are_refused(country: str, code: str) -> None:
    with pytest.raises(ValueError, match="not a state"):
        normalize_subdivision(country, code)


@pytest.mark.parametrize(("country", "code"), [("GT", "CA"), ("mx", "ca")])
def test_a_country_other_than_mx_or_us_is_refused(country: str, code: str) -> None:
    with pytest.raises(ValueError, match=r"country|state|ISO 3166"):
        normalize_subdivision(country, code)


@pytest.mark.parametrize(
    ("subdivision", "region"),
    [("US-AK", "AK"), ("US-HI", "HI"), ("US-CA", "48"), ("US-DC", "48"), ("US-TX", "48")],
)
def test_us_region(subdivision: str, region: str) -> None:
    assert us_region(subdivision) == region


def test_us_region_of_a_typed_state() -> None:
    assert us_region(normalize_subdivision("US", "ak")) == "AK"
    assert us_region(normalize_subdivision("US", "hi")) == "HI"


# Good standing: an active member with nothing unpaid more than grace_days past due.

GRACE = default_bylaws().dues.grace_days
TODAY = date(2026, 5, 15)


def _owed(days_past_due: int, outstanding_minor: int = 20_000) -> Debt:
    return Debt(due_on=TODAY - timedelta(days=days_past_due), outstanding_minor=outstanding_minor)


def test_the_default_grace_is_sixty_days() -> None:
    assert GRACE == 60


def test_an_active_member_with_nothing_overdue_is_in_good_standing() -> None:
    assert in_good_standing(MemberStatus.ACTIVE, [], today=TODAY, grace_days=GRACE)
    upcoming = [_owed(-10), _owed(0), _owed(30)]
    assert in_good_standing(MemberStatus.ACTIVE, upcoming, today=TODAY, grace_days=GRACE)


def test_a_debt_lapses_the_member_one_day_after_the_grace_period() -> None:
    def standing(debts: list[Debt]) -> bool:
        return in_good_standing(MemberStatus.ACTIVE, debts, today=TODAY, grace_days=GRACE)

    assert standing([_owed(GRACE)])
    assert not standing([_owed(GRACE + 1)])
    assert not standing([_owed(1), _owed(GRACE + 1, outstanding_minor=1)])
    late = effective_status(MemberStatus.ACTIVE, [_owed(GRACE + 1)], today=TODAY, grace_days=GRACE)
    assert late == MemberStatus.LAPSED


def test_with_no_grace_a_debt_lapses_the_day_after_it_falls_due() -> None:
    assert in_good_standing(MemberStatus.ACTIVE, [_owed(0)], today=TODAY, grace_days=0)
    assert not in_good_standing(MemberStatus.ACTIVE, [_owed(1)], today=TODAY, grace_days=0)


def test_paying_what_is_overdue_restores_good_standing() -> None:
    paid = [_owed(GRACE + 300, outstanding_minor=0), _owed(GRACE + 1, outstanding_minor=0)]
    assert in_good_standing(MemberStatus.ACTIVE, paid, today=TODAY, grace_days=GRACE)


@given(
    st.lists(st.integers(-400, 4000), max_size=10),
    st.integers(0, 365),
)
def test_paid_debts_never_lapse(days_past_due: list[int], grace_days: int) -> None:
    paid = [_owed(days, outstanding_minor=0) for days in days_past_due]
    assert in_good_standing(MemberStatus.ACTIVE, paid, today=TODAY, grace_days=grace_days)


@given(st.lists(st.tuples(st.integers(-400, 4000), st.integers(0, 10**6)), max_size=10))
def test_good_standing_is_nothing_unpaid_past_grace(debts: list[tuple[int, int]]) -> None:
    owed = [_owed(days, outstanding) for days, outstanding in debts]
    overdue = any(days > GRACE and outstanding > 0 for days, outstanding in debts)
    assert in_good_standing(MemberStatus.ACTIVE, owed, today=TODAY, grace_days=GRACE) is not overdue


@pytest.mark.parametrize(
    "status",
    [
        MemberStatus.APPLICANT,
        MemberStatus.SUSPENDED,
        MemberStatus.WITHDRAWN,
        MemberStatus.REJECTED,
        MemberStatus.LAPSED,
    ],
)
def test_only_active_members_can_be_in_good_standing(status: MemberStatus) -> None:
    assert not in_good_standing(status, [], today=TODAY, grace_days=GRACE)
    assert effective_status(status, [_owed(GRACE + 1)], today=TODAY, grace_days=GRACE) == status
