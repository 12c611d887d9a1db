"""The shipped default bylaws: they load, hold the reference data of DESIGN.md, follow the HRSA
sliding-fee pattern, and the schema refuses documents that would make the rules ambiguous."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from cooperative.bylaws.defaults import default_bylaws, default_text
from cooperative.bylaws.schema import Bylaws, UsGuidelines, UsRegion, parse_toml
from cooperative.dues.rules import us_guideline_dollars

# DESIGN.md, "Reference data": HHS poverty guidelines, annual household income in US dollars,
# typed in as published (91 FR 1797 for 2026, 90 FR 5917 for 2025). Row "+" is each additional
# person above 8.
_HHS_TABLE = """
size | 2026 48 | 2026 AK | 2026 HI | 2025 48 | 2025 AK | 2025 HI
1    | 15,960  | 19,950  | 18,360  | 15,650  | 19,550  | 17,990
2    | 21,640  | 27,050  | 24,890  | 21,150  | 26,430  | 24,320
3    | 27,320  | 34,150  | 31,420  | 26,650  | 33,310  | 30,650
4    | 33,000  | 41,250  | 37,950  | 32,150  | 40,190  | 36,980
5    | 38,680  | 48,350  | 44,480  | 37,650  | 47,070  | 43,310
6    | 44,360  | 55,450  | 51,010  | 43,150  | 53,950  | 49,640
7    | 50,040  | 62,550  | 57,540  | 48,650  | 60,830  | 55,970
8    | 55,720  | 69,650  | 64,070  | 54,150  | 67,710  | 62,300
+    | 5,680   | 7,100   | 6,530   | 5,500   | 6,880   | 6,330
"""


def _parse_hhs_table(text: str) -> dict[tuple[int, str, str], int]:
    """{(year, region, size or "+"): dollars} from the table above."""
    header, *rows = [line.split("|") for line in text.strip().splitlines()]
    columns = [tuple(cell.split()) for cell in header[1:]]
    table: dict[tuple[int, str, str], int] = {}
    for row in rows:
        size = row[0].strip()
        for (year, region), cell in zip(columns, row[1:], strict=True):
            table[(int(year), region, size)] = int(cell.strip().replace(",", ""))
    return table


HHS_DOLLARS = _parse_hhs_table(_HHS_TABLE)
HHS_YEARS = (2025, 2026)
US_REGIONS: tuple[UsRegion, ...] = ("48", "AK", "HI")
# DESIGN.md: 2026 guidelines effective Jan 13 2026; the 2025 ones were published Jan 17 2025.
HHS_2026_EFFECTIVE = date(2026, 1, 13)


def hhs_guideline_dollars(year: int, region: str, size: int) -> int:
    """The DESIGN.md guideline for a household: its row up to 8, plus the increment above 8."""
    if size <= 8:
        return HHS_DOLLARS[(year, region, str(size))]
    return HHS_DOLLARS[(year, region, "8")] + (size - 8) * HHS_DOLLARS[(year, region, "+")]


def pesos_to_centavos(amount: str) -> int:
    """ "4,843.11" -> 484311, exactly."""
    centavos = Decimal(amount.replace(",", "")) * 100
    assert centavos == centavos.to_integral_value()
    return int(centavos)


# DESIGN.md: INEGI income poverty lines per person per month, January 2026.
INEGI_URBAN_CENTAVOS = pesos_to_centavos("4,843.11")
INEGI_RURAL_CENTAVOS = pesos_to_centavos("3,465.76")
INEGI_URBAN_EXTREME_CENTAVOS = pesos_to_centavos("2,486.40")
INEGI_RURAL_EXTREME_CENTAVOS = pesos_to_centavos("1,863.17")


def _hhs(year: int) -> UsGuidelines:
    (table,) = [t for t in default_bylaws().poverty_lines.us if t.year == year]
    return table


def test_the_typed_in_table_is_complete() -> None:
    assert len(HHS_DOLLARS) == 9 * 6
    assert pesos_to_centavos("4,843.11") == 484_311


def test_the_default_bylaws_load() -> None:
    bylaws = default_bylaws()
    assert isinstance(bylaws, Bylaws)
    assert parse_toml(default_text()) == bylaws
    assert {"patient", "doctor"} <= set(bylaws.member_classes)
    assert all(c.votes for c in bylaws.member_classes.values())  # one member, one vote
    assert sum(bylaws.surplus.class_split_bp.values()) == 10_000
    assert not bylaws.governance.proxies_allowed


@pytest.mark.parametrize("year", HHS_YEARS)
@pytest.mark.parametrize("region", US_REGIONS)
@pytest.mark.parametrize("size", range(1, 9))
def test_hhs_guidelines_reproduce_the_published_table(
    year: int, region: UsRegion, size: int
) -> None:
    assert us_guideline_dollars(_hhs(year), region, size) == HHS_DOLLARS[(year, region, str(size))]


@pytest.mark.parametrize("year", HHS_YEARS)
@pytest.mark.parametrize("region", US_REGIONS)
@pytest.mark.parametrize("size", [9, 10, 12, 20])
def test_households_above_eight_add_the_increment_per_person(
    year: int, region: UsRegion, size: int
) -> None:
    eight = HHS_DOLLARS[(year, region, "8")]
    each = HHS_DOLLARS[(year, region, "+")]
    assert us_guideline_dollars(_hhs(year), region, size) == eight + (size - 8) * each


def test_hhs_tables_name_their_sources_and_dates() -> None:
    assert "91 FR 1797" in _hhs(2026).source
    assert _hhs(2026).effective == HHS_2026_EFFECTIVE
    assert "90 FR 5917" in _hhs(2025).source
    assert _hhs(2025).effective.year == 2025


def test_the_default_holds_inegi_january_2026_lines() -> None:
    (line,) = default_bylaws().poverty_lines.mx
    assert line.urban_monthly_minor == INEGI_URBAN_CENTAVOS == 484_311
    assert line.rural_monthly_minor == INEGI_RURAL_CENTAVOS == 346_576
    assert line.urban_extreme_monthly_minor == INEGI_URBAN_EXTREME_CENTAVOS
    assert line.rural_extreme_monthly_minor == INEGI_RURAL_EXTREME_CENTAVOS
    assert (line.effective.year, line.effective.month) == (2026, 1)
    assert "INEGI" in line.source


def test_the_default_sliding_scale_follows_hrsa() -> None:
    classes = default_bylaws().sliding_scale.classes
    first, last = classes[0], classes[-1]
    # a full discount (an optional flat nominal charge) at or below 100% of the poverty line
    assert first.nominal and first.max_percent is not None and first.max_percent <= 100
    # at least three discount classes between 101% and 200%
    discount_bounds = [c.max_percent for c in classes[1:-1]]
    assert len([b for b in discount_bounds if b is not None and 100 < b <= 200]) >= 3
    # no discount above 200%: the open-ended last class is full price, and no bound passes 200%
    assert last.max_percent is None and not last.nominal
    assert all(c.max_percent is not None and c.max_percent <= 200 for c in classes[:-1])
    assert classes[-2].max_percent == 200
    # a household never pays less by moving up a class
    for currency in ("MXN", "USD"):
        for fees in (
            [c.dues[currency] for c in classes],
            [c.consult_fee[currency] for c in classes],
        ):
            assert fees == sorted(fees), (currency, fees)
            assert fees[-1] > fees[0]


def test_the_default_attestation_is_valid_for_a_year() -> None:
    assert default_bylaws().sliding_scale.attestation_valid_months == 12


def _dump() -> dict[str, Any]:
    return default_bylaws().model_dump()


def test_an_unmodified_copy_of_the_default_validates() -> None:
    assert Bylaws.model_validate(_dump()) == default_bylaws()


def test_bylaws_may_add_member_classes() -> None:
    doc = _dump()
    doc["member_classes"]["clinic"] = doc["member_classes"]["doctor"] | {
        "label": {"en": "Clinic-owner", "es": "Socia clínica"}
    }
    doc["surplus"]["class_split_bp"] = {"patient": 5000, "doctor": 3000, "clinic": 2000}
    bylaws = Bylaws.model_validate(doc)
    assert set(bylaws.member_classes) == {"patient", "doctor", "clinic"}


def _swap_bounds(doc: dict[str, Any]) -> None:
    classes = doc["sliding_scale"]["classes"]
    classes[1]["max_percent"], classes[2]["max_percent"] = 166, 133


def _equal_bounds(doc: dict[str, Any]) -> None:
    doc["sliding_scale"]["classes"][2]["max_percent"] = 133


def _duplicate_code(doc: dict[str, Any]) -> None:
    doc["sliding_scale"]["classes"][2]["code"] = "B"


def _open_ended_in_the_middle(doc: dict[str, Any]) -> None:
    classes = doc["sliding_scale"]["classes"]
    classes.insert(2, classes.pop())


def _two_open_ended(doc: dict[str, Any]) -> None:
    doc["sliding_scale"]["classes"][3]["max_percent"] = None


def _last_class_bounded(doc: dict[str, Any]) -> None:
    doc["sliding_scale"]["classes"][-1]["max_percent"] = 300


def _split_short(doc: dict[str, Any]) -> None:
    doc["surplus"]["class_split_bp"] = {"patient": 5000, "doctor": 4999}


def _split_unknown_class(doc: dict[str, Any]) -> None:
    doc["surplus"]["class_split_bp"] = {"patient": 5000, "clinic": 5000}


def _seats_unknown_class(doc: dict[str, Any]) -> None:
    doc["governance"]["rules"]["board_election"]["seats"] = {"patient": 3, "staff": 3}


def _misspelt_field(doc: dict[str, Any]) -> None:
    doc["dues"]["grace_day"] = doc["dues"].pop("grace_days")


def _negative_fee(doc: dict[str, Any]) -> None:
    doc["sliding_scale"]["classes"][0]["consult_fee"]["MXN"] = -1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_swap_bounds, "strictly increasing max_percent"),
        (_equal_bounds, "strictly increasing max_percent"),
        (_duplicate_code, "codes must be unique"),
        (_open_ended_in_the_middle, "only the last fee class is open-ended"),
        (_two_open_ended, "only the last fee class is open-ended"),
        (_last_class_bounded, "only the last fee class is open-ended"),
        (_split_short, "must sum to 10000"),
        (_split_unknown_class, "unknown member classes"),
        (_seats_unknown_class, "unknown member classes"),
        (_misspelt_field, "grace_day"),
        (_negative_fee, "greater than or equal to 0"),
    ],
)
def test_invalid_bylaws_are_refused(edit: Callable[[dict[str, Any]], None], message: str) -> None:
    doc = _dump()
    edit(doc)
    with pytest.raises(ValidationError, match=message):
        Bylaws.model_validate(doc)


def test_every_price_must_exist_in_both_currencies() -> None:
    document = default_bylaws().model_dump(mode="json")
    del document["sliding_scale"]["classes"][2]["dues"]["USD"]
    with pytest.raises(ValidationError, match="fee class C dues has no price in USD"):
        Bylaws.model_validate(document)
