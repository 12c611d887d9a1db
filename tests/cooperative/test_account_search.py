"""The pure rules a search for a person uses: names folded, phones matched on their end."""

from hypothesis import given
from hypothesis import strategies as st

from cooperative.accounts import search


def test_names_fold_case_and_accents() -> None:
    assert search.fold("Rosa MARTÍNEZ") == "rosa martinez"
    assert search.name_words("  Núñez   Cruz ") == ["nunez", "cruz"]


def test_the_database_folds_every_letter_the_query_folds_alike() -> None:
    """`FOLDED` (what SQL replaces) folds each accented letter to what `fold` gives it."""
    for accented, plain in search.FOLDED:
        assert search.fold(accented) == plain


@given(st.sampled_from(["+52 ", "52 ", "+52 1 ", "52 1 ", "044 ", "045 ", "", "001 "]))
def test_a_mexican_number_however_written_ends_the_same(prefix: str) -> None:
    assert search.phone_digits(prefix + "(951) 100-0002") == "9511000002"


def test_too_few_digits_are_no_phone_search() -> None:
    assert search.phone_digits("95 1") is None
    assert search.phone_digits("0002") is None  # a few digits would rebuild a number
    assert search.phone_digits("1 951 100 0002") == "9511000002"
    assert search.phone_digits("١٢٣٤٥") is None  # only ASCII digits are a phone's
