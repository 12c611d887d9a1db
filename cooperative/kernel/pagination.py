"""Lists, written once: a page of a list as the API answers it, read by opaque keyset cursors.

A list is read after the last (timestamp, id) the client saw: `paginate` reads one page of a
statement's rows and the cursor of the next, and `page` (or `page_async`, when building an
item reads more) turns those rows into the `Page` of response models the API answers with.
"""

import base64
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, QueryableAttribute

from cooperative.kernel.errors import TequioError, Text

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

RowT = TypeVar("RowT")
ItemT = TypeVar("ItemT")


class InvalidCursor(TequioError):
    status = 400
    slug = "invalid-cursor"
    title = Text("Invalid cursor", "Cursor no válido")
    detail = Text(
        "The cursor is not one this list gave out. Start again without it.",
        "El cursor no es uno que esta lista haya dado. Empiece de nuevo sin él.",
    )


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, as the API answers it."""

    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
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
    statement: Select[RowT],
    *,
    time_column: Mapped[datetime],
    id_column: Mapped[uuid.UUID] | Mapped[int],
    cursor: str | None,
    limit: int | None,
    descending: bool = False,
) -> tuple[list[RowT], str | None]:
    """One page of `statement`'s entities ordered by (time, id), and the cursor of the next page
    (None on the last)."""
    after = Cursor.decode(cursor)
    size = clamp_limit(limit)
    if after is not None:
        after_id = _typed(id_column, after.after_id)
        key = tuple_(time_column, id_column)
        statement = statement.where(
            key < (after.after_time, after_id) if descending else key > (after.after_time, after_id)
        )
    order = (time_column.desc(), id_column.desc()) if descending else (time_column, id_column)
    rows = list((await session.scalars(statement.order_by(*order).limit(size + 1))).all())
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    moment: datetime = getattr(last, _attribute(time_column).key)
    next_cursor = Cursor(moment, str(getattr(last, _attribute(id_column).key)))
    return rows[:size], next_cursor.encode()


def page(rows: tuple[Sequence[RowT], str | None], public: Callable[[RowT], ItemT]) -> Page[ItemT]:
    """The page the API answers with: each row of `paginate`'s page as its response model."""
    found, next_cursor = rows
    return Page(items=[public(row) for row in found], next_cursor=next_cursor)


async def page_async(
    rows: tuple[Sequence[RowT], str | None], public: Callable[[RowT], Awaitable[ItemT]]
) -> Page[ItemT]:
    """`page`, for response models whose building reads more (one row after the other)."""
    found, next_cursor = rows
    return Page(items=[await public(row) for row in found], next_cursor=next_cursor)


def _attribute(
    column: Mapped[datetime] | Mapped[uuid.UUID] | Mapped[int],
) -> QueryableAttribute[Any]:
    """The entity's attribute behind a column (`col(Model.field)`): its key and its type."""
    assert isinstance(column, QueryableAttribute), "paginate orders by an entity's columns"
    return column


def _typed(column: Mapped[uuid.UUID] | Mapped[int], value: str) -> uuid.UUID | int | str:
    """The cursor's id as the column's Python type (a UUID, an int), or InvalidCursor."""
    try:
        python_type = _attribute(column).type.python_type
        if python_type is int:
            number = int(value)
            if not 0 <= number <= 2_147_483_647:
                raise ValueError("out of range")
            return number
        return uuid.UUID(value) if python_type is uuid.UUID else value
    except (ValueError, TypeError, NotImplementedError, OverflowError) as exc:
        raise InvalidCursor() from exc


_K = TypeVar("_K")
_R = TypeVar("_R")
_V = TypeVar("_V")


async def grouped(
    session: AsyncSession,
    statement: Select[_R],
    keys: Sequence[_K],
    key_of: Callable[[_R], _K | None],
    shown: Callable[[_R], _V | None],
) -> dict[_K, list[_V]]:
    """The rows of `statement` (children of several parents, read in one query in its order)
    grouped under their parent's key, as `shown` makes them (None: left out); every key of
    `keys` is in the answer, an empty list when it has none. Nothing is read for no keys."""
    found: dict[_K, list[_V]] = {key: [] for key in keys}
    if not keys:
        return found
    for row in await session.scalars(statement):
        key, value = key_of(row), shown(row)
        if key is not None and value is not None:
            found[key].append(value)
    return found
