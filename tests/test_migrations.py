"""Alembic on an empty database: upgrade to head, models agree (alembic check), down to base."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db import create_engine
from app.migrate import check_on, downgrade_on, upgrade_on
from app.models import metadata
from tests.conftest import BACKENDS, make_settings


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_upgrade_check_downgrade_on_an_empty_database(
    backend: str, empty_database_url: Callable[[str], Any]
) -> None:
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
            await connection.run_sync(upgrade_on)
            await connection.commit()
            assert await connection.run_sync(_tables) == set(metadata.tables)
            await connection.run_sync(check_on)  # raises if models and migrations disagree

            await connection.run_sync(downgrade_on)
            await connection.commit()
            assert await connection.run_sync(_tables) == set()

            await connection.run_sync(upgrade_on)  # and up again from base
            await connection.commit()
            assert await connection.run_sync(_tables) == set(metadata.tables)
    finally:
        await engine.dispose()


def test_migration_files_follow_the_dated_naming() -> None:
    from pathlib import Path

    import migrations

    versions = Path(migrations.__file__).parent / "versions"
    names = sorted(p.name for p in versions.glob("*.py"))
    assert names
    for name in names:
        assert name[:10].count("-") == 2 and name[10] == "_" and name[11:15].isdigit(), name
