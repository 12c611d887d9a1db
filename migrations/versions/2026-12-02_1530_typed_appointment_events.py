"""typed appointment events: the payloads kept every value as text ("True", "3", times with
the offset they came with); booleans and counts become JSON booleans and numbers, times RFC 3339
in UTC. No schema change.

Revision ID: e30038b046ee
Revises: 5d0c2f7e9a41
Create Date: 2026-12-02 15:30:00+00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (the template's import)
from alembic import op

revision: str = "e30038b046ee"
down_revision: str | None = "5d0c2f7e9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

events = sa.table(
    "appointment_event",
    sa.column("id", sa.Uuid()),
    sa.column("payload", sa.JSON()),
)

BOOLEANS = {"late"}
COUNTS = {"patronage"}
TIMES = {"start", "previous"}


def _typed(payload: dict[str, Any]) -> dict[str, Any]:
    typed = dict(payload)
    for key, value in payload.items():
        if not isinstance(value, str):
            continue
        if key in BOOLEANS and value in ("True", "False"):
            typed[key] = value == "True"
        elif key in COUNTS and value.lstrip("-").isdigit():
            typed[key] = int(value)
        elif key in TIMES:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                typed[key] = moment.astimezone(UTC).isoformat()
    return typed


def _as_text(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        k: str(v) if v is not None and not isinstance(v, str) else v for k, v in payload.items()
    }


def _rewrite(change: Any) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(events.c.id, events.c.payload)).all()
    for event_id, payload in rows:
        if not isinstance(payload, dict):
            continue
        changed = change(payload)
        if changed != payload:
            connection.execute(
                events.update().where(events.c.id == event_id).values(payload=changed)
            )


def upgrade() -> None:
    _rewrite(_typed)


def downgrade() -> None:
    _rewrite(_as_text)
