"""A cooperative installed with the 2025 US guidelines dated from their publication (the 17th)
gets them in force from the 15th after `tequio migrate`, its bylaws digest still true
(issue 14, item 18)."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import create_engine
from app.migrate import upgrade_on
from cooperative.bylaws.defaults import default_bylaws
from cooperative.bylaws.schema import Bylaws
from cooperative.bylaws.service import digest
from tests.conftest import BACKENDS, make_settings

BEFORE = "7446fbffd37a"

_bylaws = sa.table(
    "bylaws_version",
    sa.column("number", sa.Integer),
    sa.column("document", sa.JSON),
    sa.column("digest", sa.String),
    sa.column("adopted_by", sa.String),
    sa.column("effective_from", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _as_installed_before() -> Bylaws:
    bylaws = default_bylaws()
    us = [
        table.model_copy(update={"effective": date(2025, 1, 17)}) if table.year == 2025 else table
        for table in bylaws.poverty_lines.us
    ]
    lines = bylaws.poverty_lines.model_copy(update={"us": us})
    return bylaws.model_copy(update={"poverty_lines": lines})


def _stored(connection: sa.Connection) -> tuple[Bylaws, str]:
    document, stored_digest = connection.execute(
        sa.select(_bylaws.c.document, _bylaws.c.digest)
    ).one()
    if isinstance(document, str):
        document = json.loads(document)
    return Bylaws.model_validate(document), stored_digest


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_2025_us_table_moves_to_the_15th_with_a_true_digest(
    backend: str, empty_database_url: Callable[[str], Any]
) -> None:
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    old = _as_installed_before()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on, BEFORE)
            await connection.execute(
                sa.insert(_bylaws).values(
                    number=1,
                    document=old.model_dump(mode="json"),
                    digest=digest(old),
                    adopted_by="install",
                    effective_from=at,
                    created_at=at,
                )
            )
            await connection.commit()
            await connection.run_sync(upgrade_on)
            await connection.commit()
            bylaws, stored_digest = await connection.run_sync(_stored)
            dates = {t.year: t.effective for t in bylaws.poverty_lines.us}
            assert dates == {2026: date(2026, 1, 13), 2025: date(2025, 1, 15)}
            assert bylaws == default_bylaws()  # as a new install has it
            assert stored_digest == digest(bylaws)
    finally:
        await engine.dispose()
