"""Idempotency keys, written once: a create its sender may repeat answers with the first result.

A client on a flaky link sends an `Idempotency-Key` with a request that creates something (a
booking, a payment). The row it creates keeps the key and a digest of the request; the table
holds a key once per sender (a unique constraint on the sender's column and the key). A retry
with the same key and the same request finds that row and answers with it, even when it races
the first request; the same key with another request is refused (`IdempotencyKeyReused`).
"""

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, QueryableAttribute
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import SQLModel, col

from cooperative.kernel.errors import IdempotencyKeyReused


class KeyedRow(Protocol):
    """A table row that keeps the key and the digest of the request that created it."""

    idempotency_key: str | None
    request_digest: str | None


KeyedT = TypeVar("KeyedT", bound=KeyedRow)


def digest(request: object) -> str:
    """The SHA-256 of a request's canonical JSON (`request` is JSON-able: dicts, lists,
    strings, numbers): a retry must ask for the same thing."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IdempotentCreate(Generic[KeyedT]):
    """A request that creates one `table` row, which its sender may repeat.

    `sender` is the column naming who sent it (a key is unique per sender, e.g.
    `col(Payment.payer_account_id)`), `sender_id` who did; `key` is the request's
    Idempotency-Key (None: every request creates), `digest` what it asked for (see `digest`).
    """

    table: type[KeyedT]
    sender: Mapped[uuid.UUID]
    sender_id: uuid.UUID
    key: str | None
    digest: str

    async def earlier(self, session: AsyncSession) -> KeyedT | None:
        """The row a request with this key created already, if any; `IdempotencyKeyReused` if
        that request asked for something else."""
        if not self.key:
            return None
        statement = _earlier(self.table, cast("QueryableAttribute[uuid.UUID]", self.sender).key)
        found: KeyedT | None = (
            await session.scalars(statement, {"sender": self.sender_id, "key": self.key})
        ).one_or_none()
        if found is not None and found.request_digest != self.digest:
            raise IdempotencyKeyReused()
        return found

    async def insert(self, session: AsyncSession, row: KeyedT) -> tuple[KeyedT, bool]:
        """Add `row` with the request's key and digest; returns it and False, or — when a
        request with the same key got in first (a race) — that request's row and True. Any
        other integrity error is raised, the row left out.

        One statement, `INSERT … ON CONFLICT DO NOTHING RETURNING …`: a conflict leaves no row
        instead of an error that would spoil the transaction, so no savepoint (two more round
        trips) is needed around it. Only then is the earlier row looked for; failing that, the
        row is added as usual, which raises the conflict as the IntegrityError it is."""
        row.idempotency_key, row.request_digest = self.key, self.digest
        mapper = inspect(self.table)
        values = {attribute.key: getattr(row, attribute.key) for attribute in mapper.column_attrs}
        return await self.insert_values(session, values, row=row)

    def keyed(self, values: dict[str, object]) -> dict[str, object]:
        """A row's column values with the request's key and digest, as the row keeps them."""
        return {**values, "idempotency_key": self.key, "request_digest": self.digest}

    async def insert_values(
        self, session: AsyncSession, values: dict[str, object], *, row: KeyedT | None = None
    ) -> tuple[KeyedT, bool]:
        """`insert` from the row's column values (every column; `with_defaults` fills the
        model's defaults), without building the row first: the row comes back from the
        INSERT itself (a booking saves building it twice)."""
        values = self.keyed(values)
        statement = _insert(self.table, session.get_bind().dialect.name)
        inserted = (await session.scalars(statement, [values])).one_or_none()
        if inserted is not None:
            return inserted, False
        if (first := await self.earlier(session)) is not None:
            return first, True
        row = self.table(**values) if row is None else row  # (`insert` set the key on its row)
        session.add(row)
        await session.flush()  # the other unique constraint's IntegrityError, or (if its row
        return row, False  # went meanwhile) the row after all


def with_defaults(table: type[SQLModel], values: dict[str, object]) -> dict[str, object]:
    """`values` and, for every other field of the table's model, its default (a default
    factory called), as building the row would have set them."""
    missing = ((name, field) for name, field in table.model_fields.items() if name not in values)
    return values | {name: field.get_default(call_default_factory=True) for name, field in missing}


# The statements, built once per table (building one costs more than running it).


@functools.cache
def _earlier(table: type[KeyedT], sender: str) -> Select[KeyedT]:
    return select(table).where(
        getattr(table, sender) == bindparam("sender"),
        col(table.idempotency_key) == bindparam("key"),
    )


@functools.cache
def _insert(table: type[KeyedT], dialect: str) -> ReturningInsert[tuple[KeyedT]]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(table)
