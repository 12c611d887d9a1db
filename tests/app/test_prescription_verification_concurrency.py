"""Pharmacies verify one prescription at the same moment: every verification is counted, on a
server whose requests each commit for real (SQLite and PostgreSQL)."""

import asyncio
from collections.abc import Callable

import httpx

from app.db import create_sessionmaker
from tests.conftest import Database
from tests.factories import bearer
from tests.prescription_support import consult_now, issued

PHARMACIES = 40


async def test_concurrent_verifications_all_count(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    consult = await consult_now(client, create_sessionmaker(database.engine), settings)
    prescription = await issued(client, consult)
    url = f"/v1/prescriptions/verify/{prescription['verification_code']}"
    pharmacy = live_client_with(address="198.51.100.7")  # no account, no token
    answers = await asyncio.gather(*(pharmacy.get(url) for _ in range(PHARMACIES)))
    assert [a.status_code for a in answers] == [200] * PHARMACIES
    counts = sorted(a.json()["verification_count"] for a in answers)
    assert counts == list(range(1, PHARMACIES + 1))  # each saw its own count: none lost
    mine = await client.get(
        f"/v1/prescriptions/{prescription['id']}", headers=bearer(consult["patient"])
    )
    assert mine.json()["verification_count"] == PHARMACIES
