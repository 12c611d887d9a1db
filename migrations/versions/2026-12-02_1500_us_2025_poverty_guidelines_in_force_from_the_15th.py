"""the 2025 US poverty guidelines are in force from 15 January 2025 (90 FR 5917 says so; it was
published on the 17th, the date the bylaws had): stored bylaws versions holding that table get
its date corrected and their digest recomputed. A correction of a fact, not of a rule; nothing
is priced on those two days of 2025.

Revision ID: 5c1e2a7d9f30
Revises: 7446fbffd37a
Create Date: 2026-12-02 15:00:00+00:00
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e2a7d9f30"
down_revision: str | None = "7446fbffd37a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED, IN_FORCE = "2025-01-17", "2025-01-15"

_bylaws = sa.table(
    "bylaws_version",
    sa.column("number", sa.Integer),
    sa.column("document", sa.JSON),
    sa.column("digest", sa.String),
)


def _digest(document: dict[str, Any]) -> str:
    """As `cooperative.bylaws.service.digest`: SHA-256 of the canonical JSON document."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _move(before: str, after: str) -> None:
    connection = op.get_bind()
    for number, document in connection.execute(sa.select(_bylaws.c.number, _bylaws.c.document)):
        if isinstance(document, str):
            document = json.loads(document)
        tables = (document.get("poverty_lines") or {}).get("us") or []
        moved = [t for t in tables if t.get("year") == 2025 and t.get("effective") == before]
        if not moved:
            continue
        for table in moved:
            table["effective"] = after
        connection.execute(
            sa.update(_bylaws)
            .where(_bylaws.c.number == number)
            .values(document=document, digest=_digest(document))
        )


def upgrade() -> None:
    _move(PUBLISHED, IN_FORCE)


def downgrade() -> None:
    _move(IN_FORCE, PUBLISHED)
