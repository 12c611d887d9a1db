"""What every domain's part of the ARCO rights shares: a row as a member's export shows it, the
rows a member owns, and how an erased name reads."""

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

ERASED_NAME = "[erased]"


def exported(row: SQLModel, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The row as plain JSON, without the fields in `exclude` (hashes and digests)."""
    return {key: value for key, value in row.model_dump(mode="json").items() if key not in exclude}


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
