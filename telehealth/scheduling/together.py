"""A booking's writes in one statement, on PostgreSQL.

A booking writes four things: the appointment, its `booked` event, its messages (the doctor's
notice, the patient's reminders) and the open slots it takes. Sent one by one they are four
round trips, each costing more in SQLAlchemy, the driver and the event loop than in the
database. PostgreSQL runs them as one statement of data-modifying CTEs: the appointment's
`INSERT … ON CONFLICT DO NOTHING RETURNING`, then the event and the messages selected *from
the inserted row* and the slots deleted *where it exists*, so when the insert meets a
conflict (the slot's unique index, or the same Idempotency-Key) nothing else is written and
the caller goes the row-by-row way, which tells the two apart. SQLite has no data-modifying
CTEs: there the four go one by one (`service._booked`).

The statement is built once for each number of messages (building one costs more than
running it); every value is a bind parameter, prefixed by what it fills (`a_`, `e_`, `m0_`).
"""

import functools
from typing import Any

from sqlalchemy import CTE, Select, Table, bindparam, exists, insert, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.kernel import tables
from cooperative.notifications import service as outbox
from telehealth.scheduling import openings
from telehealth.scheduling.models import Appointment, AppointmentEvent

_APPOINTMENT = tables.table(Appointment)
_EVENT = tables.table(AppointmentEvent)
_OUTBOX = outbox.TABLE


def supported(session: AsyncSession) -> bool:
    """Whether the session's database runs data-modifying CTEs (PostgreSQL does)."""
    return session.get_bind().dialect.name == "postgresql"


async def write(
    session: AsyncSession,
    appointment: dict[str, Any],
    event: dict[str, Any],
    messages: list[dict[str, Any]],
    taking: dict[str, Any],
) -> Appointment | None:
    """Insert `appointment` (every column) and, only if it went in, `event`, `messages` (rows
    of the outbox, every one with the same columns) and the deletion of the open slots it
    takes (`openings.taking`'s parameters). The appointment as inserted, or None when the
    insert met a conflict and nothing was written."""
    columns = tuple(messages[0]) if messages else ()
    statement = _statement(tuple(appointment), tuple(event), columns, len(messages))
    parameters = {f"a_{k}": v for k, v in appointment.items()} | {
        f"e_{k}": v for k, v in event.items()
    }
    for n, message in enumerate(messages):
        parameters |= {f"m{n}_{k}": v for k, v in message.items()}
    parameters |= taking
    found = await session.scalars(select(Appointment).from_statement(statement), parameters)
    return found.one_or_none()


def _values(table: Table, names: tuple[str, ...], prefix: str) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names]


@functools.cache
def _statement(
    appointment: tuple[str, ...], event: tuple[str, ...], message: tuple[str, ...], messages: int
) -> Select[Any]:
    row = dict(zip(appointment, _values(_APPOINTMENT, appointment, "a_"), strict=True))
    booked: CTE = (
        postgresql.insert(_APPOINTMENT)
        .values(row)
        .on_conflict_do_nothing()
        .returning(*_APPOINTMENT.c)
        .cte("booked")
    )
    ctes = [
        insert(_EVENT)
        .from_select(list(event), select(*_values(_EVENT, event, "e_")).select_from(booked))
        .cte("event"),
        openings.TAKE.where(exists(select(booked.c.id))).cte("taken"),
    ]
    if messages:
        rows = [
            select(*_values(_OUTBOX, message, f"m{n}_")).select_from(booked)
            for n in range(messages)
        ]
        chosen = rows[0] if messages == 1 else union_all(*rows)
        ctes.append(insert(_OUTBOX).from_select(list(message), chosen).cte("messages"))
    return select(*booked.c).add_cte(*ctes)
