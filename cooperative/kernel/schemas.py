"""The base of request models: unknown fields refused, JSON types as documented, and no text a
database would refuse."""

import re
import types
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    FutureDate,
    FutureDatetime,
    ModelWrapValidatorHandler,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_not_a_number(value: Any) -> Any:
    """Pydantic reads a number, or a string of one, as seconds since 1970: `?from=0` would be
    1970-01-01. A query or body gives dates and times as ISO 8601 text, as documented."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise PydanticCustomError("iso_format", "give an ISO 8601 date or time, not a number")
    return value


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"-?[0-9]{1,18}")


def _a_day(value: Any) -> Any:
    """A date is `YYYY-MM-DD`: pydantic would also take a time at midnight for one."""
    value = _iso_not_a_number(value)
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise PydanticCustomError("date_format", "give the date as YYYY-MM-DD")
    return value


def _whole_number(value: Any) -> Any:
    """Query strings: `5`, not `5.0`."""
    if isinstance(value, str) and not _WHOLE.fullmatch(value):
        raise PydanticCustomError("int_parsing", "give a whole number")
    return value


def _true_or_false(value: Any) -> Any:
    """Query strings: `true` or `false`, as documented, not `yes`, `on` or `1`."""
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise PydanticCustomError("bool_parsing", "give true or false")
        return value == "true"
    return value


IsoDate = Annotated[date, BeforeValidator(_a_day)]
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_not_a_number)]
QueryInt = Annotated[int, BeforeValidator(_whole_number)]
QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]

# NUL and other C0 controls (tab, newline and carriage return are fine) and lone UTF-16
# surrogates, which PostgreSQL refuses and UTF-8 cannot encode.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean_text(value: str) -> str:
    if _FORBIDDEN.search(value):
        raise PydanticCustomError("control_character", "text must not contain control characters")
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, SecretStr):
        clean_text(value.get_secret_value())
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _clean(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _clean(key)
            _clean(item)
    return value


# The JSON types a field's annotation documents. Pydantic's lax mode would turn `0` into
# 1970-01-01, `0` into false and `false` into 0, and its strict mode cannot be used on the
# Python objects FastAPI hands over (it refuses "2026-01-01" for a date), so request bodies
# check the JSON type of each value against what the schema documents before pydantic parses it.
_STRING_TYPES = (str, SecretStr, date, datetime, time, timedelta, uuid.UUID)
# pydantic's constrained dates and times are classes of their own, not subclasses of datetime
_STRING_LIKE = (AwareDatetime, NaiveDatetime, FutureDatetime, PastDatetime, FutureDate, PastDate)
_JSON_NAMES: dict[type, tuple[str, str]] = {
    bool: ("boolean", "verdadero o falso"),
    int: ("integer", "número entero"),
    float: ("number", "número"),
    str: ("string", "texto"),
    list: ("array", "lista"),
    dict: ("object", "objeto JSON"),
    type(None): ("null", "null"),
}


@cache
def json_types(annotation: Any) -> frozenset[type] | None:
    """The Python types of parsed JSON a value of `annotation` may arrive as; None: any."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return json_types(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds: set[type] = set()
        for arm in get_args(annotation):
            found = json_types(arm)
            if found is None:
                return None
            kinds |= found
        return frozenset(kinds)
    if origin is Literal:  # an enum member arrives as its value
        return frozenset(
            type(value.value if isinstance(value, Enum) else value)
            for value in get_args(annotation)
        )
    if origin in (list, tuple, set, frozenset):
        return frozenset({list})
    if origin is dict or annotation is dict:
        return frozenset({dict})
    if annotation is type(None) or annotation is None:
        return frozenset({type(None)})
    if annotation is bool:
        return frozenset({bool})
    if annotation is int:
        return frozenset({int})
    if annotation in (float, Decimal):
        return frozenset({int, float, *((str,) if annotation is Decimal else ())})
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return frozenset(type(member.value) for member in annotation)
        if issubclass(annotation, BaseModel):
            return frozenset({dict})
        if issubclass(annotation, _STRING_TYPES) or annotation in _STRING_LIKE:
            return frozenset({str})
    return None  # Any, or a type this check does not know: pydantic decides


def _names(kinds: set[type], language: int) -> str:
    if float in kinds:
        kinds = kinds - {int}  # "a number" says it: an integer is one
    return " | ".join(sorted(_JSON_NAMES.get(k, (k.__name__, k.__name__))[language] for k in kinds))


def _json_type_problem(value: Any, expected: frozenset[type] | None) -> PydanticCustomError | None:
    """None if `value` has one of the JSON types `expected` (a bool is an int in Python, never
    in JSON), else the problem to report."""
    if expected is None or type(value) in expected:
        return None
    given = {type(value)}
    return PydanticCustomError(
        "json_type",
        "must be {expected} (got {given})",
        {
            "expected": _names(set(expected), 0),
            "given": _names(given, 0),
            "expected_es": _names(set(expected), 1),
            "given_es": _names(given, 1),
        },
    )


def _problems(value: Any, annotation: Any, loc: tuple[str | int, ...]) -> list[InitErrorDetails]:
    """Every value (array items too: `[0]` is not a list of dates) of the wrong JSON type."""
    if not _came_as_json(value):
        return []
    problem = _json_type_problem(value, json_types(annotation))
    if problem is not None:
        return [InitErrorDetails(type=problem, loc=loc, input=value)]
    origin = get_origin(annotation)
    if origin is Annotated:
        return _problems(value, get_args(annotation)[0], loc)
    if origin in (Union, types.UnionType):
        for arm in get_args(annotation):
            if type(value) in (json_types(arm) or ()):
                return _problems(value, arm, loc)
    if origin in (list, set, frozenset) and isinstance(value, list):
        (item,) = get_args(annotation) or (Any,)
        return [p for i, element in enumerate(value) for p in _problems(element, item, (*loc, i))]
    return []


class InputModel(BaseModel):
    """Request bodies: strict about unknown fields, about JSON types (as documented: no `0` for a
    date or `false` for a number) and about the characters they carry."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _documented_json_types(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        problems = [
            problem
            for name, field in cls.model_fields.items()
            if isinstance(data, dict) and (key := field.alias or name) in data
            for problem in _problems(data[key], field.annotation, (key,))
        ]
        if not problems:
            return handler(data)
        wrong = {problem["loc"] for problem in problems}
        try:  # the other fields' problems too, so a form shows them all at once
            handler({k: v for k, v in data.items() if (k,) not in wrong})
        except ValidationError as exc:
            problems += [
                _as_init_error(error)
                for error in exc.errors()
                if not any(tuple(error["loc"][: len(w)]) == w for w in wrong)
            ]
        raise ValidationError.from_exception_data(cls.__name__, problems)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _clean(value)


def _as_init_error(error: Any) -> InitErrorDetails:
    """A reported error, to be raised again beside others."""
    details = InitErrorDetails(type=error["type"], loc=tuple(error["loc"]), input=error["input"])
    if error.get("ctx"):
        details["ctx"] = error["ctx"]
    try:
        ValidationError.from_exception_data("check", [details])
    except (KeyError, TypeError, ValueError):  # a validator's own error type, already worded
        details = InitErrorDetails(
            type=PydanticCustomError(error["type"], error["msg"]),
            loc=tuple(error["loc"]),
            input=error["input"],
        )
    return details


def _came_as_json(value: Any) -> bool:
    """Only values that look like parsed JSON are checked: code that builds a model from Python
    objects (a date, a UUID, an enum member) is not a client sending the wrong type."""
    if isinstance(value, Enum):
        return False
    return isinstance(value, str | int | float | bool | list | dict) or value is None
