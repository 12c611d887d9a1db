"""The base of request models: unknown fields refused, and no text a database would refuse."""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator
from pydantic_core import PydanticCustomError

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


class InputModel(BaseModel):
    """Request bodies: strict about unknown fields and about the characters they carry."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _clean(value)
