from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from tests.consult_support import http_to, server
from tests.factories import practitioner

__all__ = ["http_to", "server"]


@pytest.fixture
async def doctor_id(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> str:
    """A family doctor in Mexico City, licensed in Mexico, with the factory's weekly hours."""
    profile, _ = await practitioner(client, admin, sessionmaker, settings)
    found: str = profile["id"]
    return found
