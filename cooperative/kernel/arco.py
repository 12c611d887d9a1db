"""What every domain's part of the ARCO rights shares: a row as a member's export shows it, the
rows a member owns, and how an erased name reads."""

import uuid
from datetime import datetime
from typing import Any

import pydantic_core
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from cooperative.kernel import moments

ERASED_NAME = "[erased]"


def exported(row: SQLModel, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The row as plain JSON, without the fields in `exclude` (hashes and digests), its
    instants in the reader's zone like every answer's."""
    return {
        key: moments.shown(value).isoformat() if isinstance(value, datetime) else value
        for key, value in row.model_dump(mode="python").items()
        if key not in exclude
        for value in [_plain(value)]
    }


def _plain(value: Any) -> Any:
    """A value of a row as JSON holds it (instants stay instants, for the caller to place)."""
    if isinstance(value, datetime):
        return value
    return pydantic_core.to_jsonable_python(value)


async def rows(session: AsyncSession, statement: Select[Any]) -> list[Any]:
    return list((await session.execute(statement)).scalars())


async def rows_of(
    session: AsyncSession, statement: Select[Any], column: Any, owner: uuid.UUID | None
) -> list[Any]:
    """The rows of `statement` whose `column` is `owner`; none when there is no owner, as for an
    account with no membership (never `IS NULL`, which would be everyone else's unowned rows)."""
    if owner is None:
        return []
    return await rows(session, statement.where(col(column) == owner))
