"""Opaque keyset cursors: a list is read after the last (timestamp, id) the client saw."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.kernel.errors import TequioError, Text

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(TequioError):
    status = 400
    slug = "invalid-cursor"
    title = Text("Invalid cursor", "Cursor no válido")
    detail = Text(
        "The cursor is not one this list gave out. Start again without it.",
        "El cursor no es uno que esta lista haya dado. Empiece de nuevo sin él.",
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    after_time: datetime
    after_id: str

    def encode(self) -> str:
        raw = json.dumps([self.after_time.isoformat(), self.after_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> "Cursor | None":
        if not token:
            return None
        try:
            padded = token + "=" * (-len(token) % 4)
            moment, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
            when = datetime.fromisoformat(moment)
            if when.tzinfo is None or not 1970 <= when.astimezone(UTC).year <= 9000:
                raise ValueError("not a time any list holds")
            return cls(when, str(ident))
        except (ValueError, TypeError, OverflowError, UnicodeDecodeError) as exc:
            raise InvalidCursor() from exc


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    *,
    time_column: Any,
    id_column: Any,
    cursor: str | None,
    limit: int | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `statement`'s entities ordered by (time, id), and the cursor of the next page."""
    after = Cursor.decode(cursor)
    size = clamp_limit(limit)
    if after is not None:
        after_id = _typed(id_column, after.after_id)
        if descending:
            statement = statement.where(
                tuple_(time_column, id_column) < (after.after_time, after_id)
            )
        else:
            statement = statement.where(
                tuple_(time_column, id_column) > (after.after_time, after_id)
            )
    order = (time_column.desc(), id_column.desc()) if descending else (time_column, id_column)
    rows = list((await session.execute(statement.order_by(*order).limit(size + 1))).scalars())
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    next_cursor = Cursor(getattr(last, time_column.key), str(getattr(last, id_column.key)))
    return rows[:size], next_cursor.encode()


def _typed(column: Any, value: str) -> Any:
    """The cursor's id as the column's Python type (a UUID, an int), or InvalidCursor."""
    try:
        python_type = column.type.python_type
        if python_type is int:
            number = int(value)
            if not 0 <= number <= 2_147_483_647:
                raise ValueError("out of range")
            return number
        return python_type(value) if python_type is uuid.UUID else value
    except (ValueError, TypeError, NotImplementedError, OverflowError) as exc:
        raise InvalidCursor() from exc
