"""Validated field types the telehealth schemas share: each turns a rule's ValueError into a
validation error with its own code, so clients see which field is wrong and why."""

import re
from collections.abc import Callable
from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from telehealth.practitioners import rules


def _checked(code: str, rule: Callable[[str], str]) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return rule(value)
        except ValueError as exc:
            raise PydanticCustomError(code, str(exc)) from exc

    return AfterValidator(check)


TimeZoneName = Annotated[
    str,
    Field(max_length=64, examples=["America/Mexico_City"]),
    _checked("timezone", rules.valid_timezone),
]
VisitJurisdiction = Annotated[
    str,
    Field(max_length=8, examples=["MX-OAX", "US-CA"]),
    _checked("jurisdiction", rules.normalize_visit_jurisdiction),
]
LicenceJurisdiction = Annotated[
    str,
    Field(max_length=8, examples=["MX", "US-CA"]),
    _checked("jurisdiction", rules.normalize_licence_jurisdiction),
]
LanguageTag = Annotated[
    str,
    Field(max_length=16, examples=["es", "nah"]),
    _checked("language", rules.normalize_language),
]


# A time of day on the practitioner's clock is sent as text, `HH:MM` or `HH:MM:SS`, nothing more.
WALL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_WALL_TIME = re.compile(WALL_TIME_PATTERN)
# What a client sends when it reads the time as RFC 3339's `time`: an offset or `Z` at the end.
_WITH_OFFSET = re.compile(r"^[0-9:.]+ ?([zZ]|[+-][0-9]{1,2}(:?[0-9]{2})?)$")
_FORMAT = "give a time of day as HH:MM or HH:MM:SS on the 24-hour clock, e.g. 09:00"
_NO_OFFSET = (
    "give the time on the practitioner's own clock, without a UTC offset or Z (HH:MM or "
    "HH:MM:SS, e.g. 09:00): the practitioner's time zone applies"
)


def _wall_time(value: object) -> time:
    """A time of day on the practitioner's own clock. An offset is refused, never dropped: a
    window sent as `16:00+05:00` would otherwise be stored as 16:00 in the doctor's zone."""
    if isinstance(value, time):  # built in code, not sent
        if value.tzinfo is not None:
            raise PydanticCustomError("wall_time_offset", _NO_OFFSET)
        if value.microsecond:
            raise PydanticCustomError("wall_time", _FORMAT)
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("wall_time", _FORMAT)
    if _WITH_OFFSET.match(value):
        raise PydanticCustomError("wall_time_offset", _NO_OFFSET)
    if not _WALL_TIME.match(value):
        raise PydanticCustomError("wall_time", _FORMAT)
    return time.fromisoformat(value)


_WALL_TIME_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "pattern": WALL_TIME_PATTERN,
        "examples": ["09:00", "17:30:00"],
        "description": "A time of day on the practitioner's own clock (their IANA time zone), "
        "HH:MM or HH:MM:SS on the 24-hour clock, without a UTC offset.",
    }
)
_AS_TEXT = PlainSerializer(lambda value: value.isoformat(timespec="seconds"), return_type=str)

# In requests: documented as exactly what is accepted, not as JSON Schema's `format: time`
# (RFC 3339's, which carries an offset, so schema-driven clients would send one).
WallTime = Annotated[time, BeforeValidator(_wall_time), _AS_TEXT, _WALL_TIME_SCHEMA]
# In responses: a stored time of day, as `HH:MM:SS`.
WallTimeOut = Annotated[time, _AS_TEXT, _WALL_TIME_SCHEMA]
