"""Validated field types the telehealth schemas share: each turns a rule's ValueError into a
validation error with its own code, so clients see which field is wrong and why."""

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field
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
