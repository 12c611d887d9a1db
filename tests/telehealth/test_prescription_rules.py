"""The pure rules of prescriptions: which consults may carry one, the verification code, and the
controlled-substance list's matching (case, accents, salts, combinations, whole words only)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telehealth.consults.rules import RoomWindow
from telehealth.prescriptions import rules

WINDOW = RoomWindow(opens_before=timedelta(minutes=10), closes_after=timedelta(minutes=30))
START = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
END = START + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("status", "now", "why"),
    [
        ("booked", START - timedelta(hours=1), "not-yet"),
        ("booked", START - timedelta(minutes=10), None),  # the room opens
        ("arrived", START + timedelta(minutes=15), None),
        ("booked", END + timedelta(minutes=30), None),  # the room's last minute
        ("booked", END + timedelta(hours=2), "not-recorded"),
        ("booked", END + timedelta(days=8), "too-late"),
        ("fulfilled", END + timedelta(days=7), None),
        ("fulfilled", END + timedelta(days=7, seconds=1), "too-late"),
        ("cancelled", START, "not-a-consult"),
        ("noshow", START, "not-a-consult"),
        ("entered-in-error", START, "not-a-consult"),
    ],
)
def test_a_consult_carries_a_prescription_while_or_after_it_takes_place(
    status: str, now: datetime, why: str | None
) -> None:
    assert rules.issuable(status, START, END, now, WINDOW) == why


def test_codes_are_long_random_and_read_back_however_typed() -> None:
    codes = {rules.new_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = next(iter(codes))
    assert len(code) == rules.CODE_LENGTH == 28  # 28 x 5 = 140 bits
    shown = rules.grouped(code)
    assert shown.count("-") == 6 and all(len(group) == 4 for group in shown.split("-"))
    for typed in (shown, shown.lower(), code, shown.replace("-", " "), f"  {shown}  "):
        assert rules.canonical_code(typed) == code
    assert rules.canonical_code("O" * 28) == "0" * 28  # O read as zero
    assert rules.canonical_code("IL" * 14) == "1" * 28
    for wrong in ("", "ABC", code[:-1], code + "0", "U" * 28, "'; DROP TABLE x; --"):
        assert rules.canonical_code(wrong) is None


@given(st.text(max_size=200))
def test_any_text_is_a_code_or_not_without_failing(text: str) -> None:
    found = rules.canonical_code(text)
    assert found is None or len(found) == rules.CODE_LENGTH


@pytest.mark.parametrize(
    ("text", "fraction", "name"),
    [
        ("Morfina", "I", "morfina"),
        ("clorhidrato de morfina", "I", "morfina"),
        ("Morphine Sulfate ER", "I", "morfina"),
        ("sulfato de MORFINA", "I", "morfina"),
        ("Paracetamol/Codeína", "I", "codeína"),
        ("paracetamol + codeine phosphate", "I", "codeína"),
        ("Oxycodone HCl", "I", "oxicodona"),
        ("Citrato de fentanilo", "I", "fentanilo"),
        ("meperidina", "I", "petidina"),
        ("Clonazepám", "III", "clonazepam"),
        ("CLONACEPAM", "III", "clonazepam"),
        ("diacepam", "III", "diazepam"),
        ("Alprazolam XR", "III", "alprazolam"),
        ("fenobarbital sódico", "III", "fenobarbital"),
        ("Phenobarbitone", "III", "fenobarbital"),
        ("Metilfenidato de liberación prolongada", "II", "metilfenidato"),
        ("Lisdexamfetamine dimesylate", "II", "lisdexanfetamina"),
        ("Clorazepato dipotásico", "III", "clorazepato"),
        ("Tartrato de zolpidem", "III", "zolpidem"),
    ],
)
def test_controlled_substances_are_found_however_written(
    text: str, fraction: str, name: str
) -> None:
    found = rules.controlled_in(text)
    assert found is not None, text
    assert (found.fraction, found.name_es) == (fraction, name)


@pytest.mark.parametrize(
    "text",
    [
        "Amoxicilina",
        "Paracetamol",
        "Losartán potásico",
        "Metformina",
        "Ibuprofeno",
        "Cannabidiol",  # not cannabis: a different word
        "Naloxona",
        "Salbutamol",
        "Loratadina",
        "Omeprazol",
    ],
)
def test_ordinary_medicines_are_not_refused(text: str) -> None:
    assert rules.controlled_in(text) is None


def test_the_shipped_list_names_each_substance_in_spanish_and_english() -> None:
    listed = rules.controlled_list()
    substances = set(listed.values())
    assert len(substances) > 60
    assert {s.fraction for s in substances} == {"I", "II", "III"}
    for substance in substances:
        assert substance.name_es and substance.name_en
        assert rules.folded(substance.name_es) in listed
        assert rules.folded(substance.name_en) in listed
