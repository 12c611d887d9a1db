"""Pure rules for finding people by what staff type: a name without caring for accents or
case, a phone number however it is written.

A name matches when every word typed is inside the display name, both folded the same way:
lower case, accents dropped (`martinez` finds `Rosa Martínez`, `NUNEZ` finds `Núñez`). The
database folds with `replace` and `lower`, which SQLite and PostgreSQL share; `FOLDED` lists
the letters it folds (Spanish's), and `fold` folds a query the same way.

A phone matches on the whole national number (ten digits for a Mexican or a US phone; fewer
are refused, since searching by the last few digits, one digit more at a time, would let staff
rebuild a number a patient never gave them), so `951 100 0002`, `+52 951 100 0002`,
`52 1 951 100 0002` (the old mobile prefix) and `044 951 100 0002` all find `+529511000002`.
"""

import unicodedata

NATIONAL_DIGITS = 10
MIN_PHONE_DIGITS = NATIONAL_DIGITS  # the whole number: a few digits would let staff rebuild one

# Spanish's accented letters (both cases) and what they fold to; ASCII case is folded by
# `lower`. (SQLite's parser refuses much deeper nesting of `replace`, so the list stays short.)
FOLDED: tuple[tuple[str, str], ...] = tuple(
    (accented, plain)
    for plain, letters in (
        ("a", "áÁ"),
        ("e", "éÉ"),
        ("i", "íÍ"),
        ("o", "óÓ"),
        ("u", "úÚüÜ"),
        ("n", "ñÑ"),
    )
    for accented in letters
)


def fold(text: str) -> str:
    """Lower case without accents: what a name is compared as."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def name_words(query: str) -> list[str]:
    """The folded words of a name query (each must be in the name)."""
    return fold(query).split()


def phone_digits(query: str) -> str | None:
    """The digits a phone must end with, or None when the query has too few to search by."""
    digits = "".join(ch for ch in query if ch.isascii() and ch.isdigit())
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return digits[-NATIONAL_DIGITS:]
