"""The sliding scale: which fee class a household lands in, checked against the poverty lines of
DESIGN.md (typed in, never taken from the code) at every class boundary, and by properties."""

import dataclasses
from datetime import date, timedelta
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.bylaws.defaults import default_bylaws
from cooperative.dues.rules import (
    HouseholdIncome,
    NoPovertyLine,
    add_months,
    assess,
    compare,
    fee_class_for,
)
from tests.cooperative.test_bylaws_schema import (
    HHS_2026_EFFECTIVE,
    INEGI_RURAL_CENTAVOS,
    INEGI_URBAN_CENTAVOS,
    US_REGIONS,
    hhs_guideline_dollars,
)

BYLAWS = default_bylaws()
SCALE = BYLAWS.sliding_scale
LINES = BYLAWS.poverty_lines
CODES = [c.code for c in SCALE.classes]

IN_2025 = date(2025, 6, 1)
IN_2026 = date(2026, 6, 1)
INEGI_JANUARY_2026 = date(2026, 1, 1)

# The default schedule (default.toml): A up to 100% of the line, B to 133%, C to 166%, D to 200%,
# E above; each bound is inclusive.
BOUNDARIES = [(100, "A", "B"), (133, "B", "C"), (166, "C", "D"), (200, "D", "E")]


def design_line_minor(household: HouseholdIncome, on: date) -> Fraction:
    """The poverty line for this household over its income period, in cents or centavos.

    US: the HHS guideline for the year in force (annual; a twelfth of it a month).
    MX: INEGI's line per person per month, times the household's size (times 12 a year).
    """
    if household.country == "US":
        year = 2026 if on >= HHS_2026_EFFECTIVE else 2025
        annual = hhs_guideline_dollars(year, household.us_region, household.size) * 100
        return Fraction(annual) if household.period == "annual" else Fraction(annual, 12)
    per_person = INEGI_RURAL_CENTAVOS if household.area == "rural" else INEGI_URBAN_CENTAVOS
    monthly = per_person * household.size
    return Fraction(monthly if household.period == "monthly" else monthly * 12)


def code_for(household: HouseholdIncome, on: date) -> str:
    return assess(household, expires_on=None, scale=SCALE, lines=LINES, on=on).fee_class.code


def _households() -> list[tuple[HouseholdIncome, date]]:
    cases: list[tuple[HouseholdIncome, date]] = []
    for size in range(1, 13):
        for period in ("monthly", "annual"):
            for on in (IN_2025, IN_2026):
                for region in US_REGIONS:
                    cases.append((HouseholdIncome("US", size, 0, period, us_region=region), on))
            for area in ("urban", "rural"):
                cases.append((HouseholdIncome("MX", size, 0, period, area=area), IN_2026))
    return cases


def _case_id(case: tuple[HouseholdIncome, date]) -> str:
    h, on = case
    where = f"US-{h.us_region}" if h.country == "US" else f"MX-{h.area}"
    return f"{where}-{h.size}p-{h.period}-{on.year}"


HOUSEHOLDS = _households()


@pytest.mark.parametrize("case", HOUSEHOLDS, ids=[_case_id(c) for c in HOUSEHOLDS])
def test_class_boundaries(case: tuple[HouseholdIncome, date]) -> None:
    blank, on = case
    line = design_line_minor(blank, on)

    def code(income_minor: int) -> str:
        return code_for(dataclasses.replace(blank, income_minor=income_minor), on)

    assert code(0) == "A"
    for percent, at_or_below, above in BOUNDARIES:
        exact = line * percent / 100
        if exact.denominator == 1:
            assert code(int(exact)) == at_or_below, f"exactly {percent}%"
        # the richest household still within the bound, and one cent (centavo) richer
        highest = floor(exact)
        assert code(highest) == at_or_below, f"{highest} at {percent}%"
        assert code(highest + 1) == above, f"{highest + 1} just above {percent}%"
    assert code(floor(line * 10)) == "E"


def test_exact_boundaries_are_exercised() -> None:
    """Guard for the test above: many boundaries are reachable exactly in whole minor units."""
    exact = [
        (h, p)
        for h, on in HOUSEHOLDS
        for p, _, _ in BOUNDARIES
        if (design_line_minor(h, on) * p / 100).denominator == 1
    ]
    assert len(exact) > len(HOUSEHOLDS)
    assert {p for _, p in exact} == {100, 133, 166, 200}
    assert {h.country for h, _ in exact} == {"MX", "US"}


def test_hundred_percent_is_the_full_discount_and_a_cent_more_is_not() -> None:
    four_2026 = HouseholdIncome("US", 4, 3_300_000, "annual")  # $33,000: the 2026 line for 4
    assert code_for(four_2026, IN_2026) == "A"
    assert code_for(dataclasses.replace(four_2026, income_minor=3_300_001), IN_2026) == "B"
    # the same income is above the 2025 line for 4 ($32,150)
    assert code_for(four_2026, IN_2025) == "B"


def test_the_table_in_force_is_chosen_by_date() -> None:
    one = HouseholdIncome("US", 1, 1_596_000, "annual")  # $15,960: the 2026 line for 1
    day_before = HHS_2026_EFFECTIVE - timedelta(days=1)
    assert "HHS 2025" in compare(one, LINES, day_before).table
    assert "HHS 2026" in compare(one, LINES, HHS_2026_EFFECTIVE).table
    assert code_for(one, day_before) == "B"  # above the 2025 line, $15,650
    assert code_for(one, HHS_2026_EFFECTIVE) == "A"


def test_no_poverty_line_before_the_first_table() -> None:
    mx = HouseholdIncome("MX", 3, 1_000_000, "monthly", area="rural")
    assert compare(mx, LINES, INEGI_JANUARY_2026).line_minor == 3 * INEGI_RURAL_CENTAVOS
    with pytest.raises(NoPovertyLine):
        compare(mx, LINES, INEGI_JANUARY_2026 - timedelta(days=1))
    with pytest.raises(NoPovertyLine):
        assess(mx, expires_on=None, scale=SCALE, lines=LINES, on=date(2025, 12, 31))
    with pytest.raises(NoPovertyLine):
        compare(HouseholdIncome("US", 1, 0, "annual"), LINES, date(2024, 6, 1))


def test_an_empty_household_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one person"):
        compare(HouseholdIncome("US", 0, 100, "annual"), LINES, IN_2026)


# assess(): what a household is charged, and why.


def test_no_attested_income_pays_full_price() -> None:
    assessment = assess(None, expires_on=None, scale=SCALE, lines=LINES, on=IN_2026)
    assert assessment.fee_class.code == "E" and assessment.fee_class.max_percent is None
    assert assessment.basis == "none" and assessment.comparison is None


@pytest.mark.parametrize("expired_days_ago", [0, 1, 400])
def test_an_expired_attestation_pays_full_price(expired_days_ago: int) -> None:
    poor = HouseholdIncome("MX", 4, 0, "monthly")
    expires_on = IN_2026 - timedelta(days=expired_days_ago)
    assessment = assess(poor, expires_on=expires_on, scale=SCALE, lines=LINES, on=IN_2026)
    assert assessment.fee_class.code == "E"
    assert assessment.basis == "expired" and assessment.comparison is None


def test_an_attestation_lasts_its_valid_months_to_the_day() -> None:
    poor = HouseholdIncome("MX", 4, 0, "monthly")
    attested = date(2026, 1, 31)
    expires_on = add_months(attested, SCALE.attestation_valid_months)
    assert expires_on == date(2027, 1, 31)
    last_day = assess(poor, expires_on=expires_on, scale=SCALE, lines=LINES, on=date(2027, 1, 30))
    assert last_day.basis == "attested" and last_day.fee_class.code == "A"
    after = assess(poor, expires_on=expires_on, scale=SCALE, lines=LINES, on=expires_on)
    assert after.basis == "expired" and after.fee_class.code == "E"


def test_an_attested_us_household_is_explained() -> None:
    household = HouseholdIncome("US", 3, 4_098_000, "annual", us_region="AK")  # $40,980
    assessment = assess(
        household, expires_on=date(2027, 1, 1), scale=SCALE, lines=LINES, on=IN_2026
    )
    comparison = assessment.comparison
    assert assessment.basis == "attested" and comparison is not None
    # 2026 Alaska, 3 people: $34,150; $40,980 / $34,150 = 120%
    assert comparison.line_minor == 3_415_000
    assert comparison.percent == 120 and isinstance(comparison.percent, Fraction)
    assert assessment.fee_class.code == "B"
    assert comparison.currency == "USD" and comparison.period == "annual"
    assert "HHS 2026" in comparison.table and "Alaska" in comparison.table
    assert "91 FR 1797" in comparison.source


def test_an_attested_mexican_household_is_explained() -> None:
    # 5 people in a rural area earning 1.5 times the rural line per person a month
    household = HouseholdIncome("MX", 5, 5 * INEGI_RURAL_CENTAVOS * 3 // 2, "monthly", area="rural")
    assessment = assess(
        household, expires_on=date(2027, 1, 1), scale=SCALE, lines=LINES, on=IN_2026
    )
    comparison = assessment.comparison
    assert assessment.basis == "attested" and comparison is not None
    assert comparison.line_minor == 5 * INEGI_RURAL_CENTAVOS
    assert comparison.percent == 150
    assert assessment.fee_class.code == "C"
    assert comparison.currency == "MXN"
    assert "INEGI" in comparison.table and "rural" in comparison.table


def test_a_monthly_us_line_is_a_twelfth_of_the_annual_one() -> None:
    household = HouseholdIncome("US", 2, 180_333, "monthly")  # 2026 line for 2: $21,640 / 12
    comparison = compare(household, LINES, IN_2026)
    assert comparison.line_minor == 180_333  # $1,803.33 shown, rounded to the cent
    assert comparison.percent == Fraction(180_333 * 12 * 100, 2_164_000)
    assert comparison.percent < 100 and code_for(household, IN_2026) == "A"
    assert code_for(dataclasses.replace(household, income_minor=180_334), IN_2026) == "B"


def test_a_percentage_between_bounds_is_never_rounded_into_a_cheaper_class() -> None:
    assert fee_class_for(Fraction(13301, 100), SCALE).code == "C"
    assert fee_class_for(Fraction(200), SCALE).code == "D"
    assert fee_class_for(Fraction(200) + Fraction(1, 10**12), SCALE).code == "E"


# Properties over any household.

us_households = st.builds(
    HouseholdIncome,
    country=st.just("US"),
    size=st.integers(1, 20),
    income_minor=st.integers(0, 50_000_000),
    period=st.sampled_from(["annual", "monthly"]),
    us_region=st.sampled_from(US_REGIONS),
)
mx_households = st.builds(
    HouseholdIncome,
    country=st.just("MX"),
    size=st.integers(1, 20),
    income_minor=st.integers(0, 50_000_000),
    period=st.sampled_from(["annual", "monthly"]),
    area=st.sampled_from(["urban", "rural"]),
)
households = st.one_of(us_households, mx_households)
days = st.dates(min_value=INEGI_JANUARY_2026, max_value=date(2030, 12, 31))


def index_of(household: HouseholdIncome, on: date) -> int:
    return CODES.index(code_for(household, on))


@given(households, st.integers(0, 10_000_000), days)
def test_more_income_never_lands_in_a_cheaper_class(
    household: HouseholdIncome, more: int, on: date
) -> None:
    richer = dataclasses.replace(household, income_minor=household.income_minor + more)
    assert index_of(richer, on) >= index_of(household, on)


@given(households, st.integers(0, 10), days)
def test_a_larger_household_never_lands_in_a_dearer_class(
    household: HouseholdIncome, more_people: int, on: date
) -> None:
    larger = dataclasses.replace(household, size=household.size + more_people)
    assert index_of(larger, on) <= index_of(household, on)


@given(households, days)
def test_the_same_inputs_always_give_the_same_class(household: HouseholdIncome, on: date) -> None:
    first = assess(household, expires_on=None, scale=SCALE, lines=LINES, on=on)
    again = assess(dataclasses.replace(household), expires_on=None, scale=SCALE, lines=LINES, on=on)
    assert first == again


@given(households, days)
def test_the_percentage_is_exact_against_the_design_line(
    household: HouseholdIncome, on: date
) -> None:
    comparison = compare(household, LINES, on)
    assert isinstance(comparison.percent, Fraction)
    expected_line = design_line_minor(household, on)
    assert comparison.percent == household.income_minor * 100 / expected_line
    assert comparison.line_minor == round(expected_line)


@given(us_households.map(lambda h: dataclasses.replace(h, period="annual")), days)
def test_an_annual_us_income_is_recovered_from_line_and_percent(
    household: HouseholdIncome, on: date
) -> None:
    comparison = compare(household, LINES, on)
    assert comparison.line_minor * comparison.percent / 100 == household.income_minor


@given(us_households, st.dates(min_value=date(2025, 1, 17), max_value=date(2032, 1, 1)))
def test_the_us_table_in_force_is_the_latest_effective_one(
    household: HouseholdIncome, on: date
) -> None:
    year = 2026 if on >= HHS_2026_EFFECTIVE else 2025
    assert f"HHS {year}," in compare(household, LINES, on).table


# add_months: when an attestation made on a day expires.


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 3, 15), 12, date(2026, 3, 15)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 8, 31), 1, date(2025, 9, 30)),
        (date(2025, 10, 31), 4, date(2026, 2, 28)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2025, 5, 20), 0, date(2025, 5, 20)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)), st.integers(-24, 60))
def test_add_months_moves_whole_months_and_clamps_to_the_month_end(
    start: date, months: int
) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    next_month = date(result.year + result.month // 12, result.month % 12 + 1, 1)
    month_length = (next_month - timedelta(days=1)).day
    assert result.day == min(start.day, month_length)
