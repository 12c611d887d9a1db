"""Pure rules of prescriptions: when a consult may carry one, the verification code, and the
controlled substances telemedicine may not prescribe (a shipped list, `controlled.tsv`)."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

from telehealth.consults.rules import RoomWindow, room_state
from telehealth.scheduling.rules import AppointmentStatus

# A consult that took place may be given its prescription this long after its end (a doctor who
# writes it once the call has dropped, or after reading a lab result the same week).
AFTER_THE_CONSULT = timedelta(days=7)


def issuable(
    status: str, start: datetime, end: datetime, now: datetime, window: RoomWindow
) -> str | None:
    """Why a consult in `status` may not be given a prescription at `now`, or None if it may.

    A consult carries a prescription while it is taking place (booked or arrived, with its room
    open) and once it has taken place (fulfilled), for `AFTER_THE_CONSULT` after its end. A
    consult still to come (`not-yet`), one called off or missed (`not-a-consult`: cancelled,
    no-show, entered in error) and one long past (`too-late`) carry none."""
    if status == AppointmentStatus.FULFILLED:
        return "too-late" if now > end + AFTER_THE_CONSULT else None
    if status in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        state = room_state(start, end, now, window)
        if state == "not-open-yet":
            return "not-yet"
        if state == "closed":
            return "too-late" if now > end + AFTER_THE_CONSULT else "not-recorded"
        return None
    return "not-a-consult"


# The verification code: 140 random bits (more than the 128 asked of an unguessable secret) in
# Crockford's base 32, shown in seven groups of four: `7KQM-2X9T-…`.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 28
_GROUP = 4
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(f"[{_ALPHABET}]{{{CODE_LENGTH}}}")


def new_code() -> str:
    """A fresh verification code, ungrouped (as stored)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    """The code as people read and type it: `7KQM-2X9T-…`."""
    return "-".join(code[i : i + _GROUP] for i in range(0, len(code), _GROUP))


def canonical_code(text: str) -> str | None:
    """The stored form of a code as someone typed it (any case, with or without dashes or
    spaces, O for 0 and I or L for 1), or None if it cannot be a code."""
    clean = re.sub(r"[\s-]", "", text[:80]).upper().translate(_READ_AS)
    return clean if _CODE.fullmatch(clean) else None


# Controlled substances -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Controlled:
    """A substance of LGS art. 226 fr. I-III, by the name that matched and its fraction."""

    fraction: str
    name_es: str
    name_en: str


def folded(text: str) -> str:
    """Lowercase, without accents, words separated by single spaces and nothing else."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", plain))


@cache
def controlled_list() -> dict[str, Controlled]:
    """Every spelling in the shipped list, folded, and the substance it names."""
    text = files("telehealth.prescriptions").joinpath("controlled.tsv").read_text("utf-8")
    names: dict[str, Controlled] = {}
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for line in lines[1:]:  # the header
        fraction, es, en, *rest = [*line.split("\t"), ""][:4]
        substance = Controlled(fraction.strip(), es.strip(), en.strip())
        spellings = [es, en, *(rest[0].split(",") if rest else [])]
        for spelling in spellings:
            if folded(spelling):
                names[folded(spelling)] = substance
    return names


_LONGEST = 3  # words in the longest listed name


def controlled_in(*texts: str) -> Controlled | None:
    """The first controlled substance any of `texts` names (a drug's generic name and
    presentation), by whole words: "clorhidrato de morfina" and "Paracetamol/Codeína" are
    found; "morfinan" is not a word of the list."""
    listed = controlled_list()
    for text in texts:
        words = folded(text).split()
        for size in range(_LONGEST, 0, -1):
            for i in range(len(words) - size + 1):
                found = listed.get(" ".join(words[i : i + size]))
                if found is not None:
                    return found
    return None
