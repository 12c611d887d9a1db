"""What can race around a consult's media, on SQLite and PostgreSQL: consents given at once, and
workers claiming one room's relay at once or after its host died."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.kernel import clock
from telehealth.consults import media_service
from telehealth.consults.models import ConsultRoom, RecordingConsent
from tests.conftest import Database
from tests.consult_support import consult_soon
from tests.factories import bearer


async def test_consents_given_at_once_stand_once(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    http = http_to(await server())
    consult = await consult_soon(http, database)
    url = f"/v1/appointments/{consult['id']}/consult/consent"
    responses = await asyncio.gather(
        *(
            http.put(url, json={"recording": True}, headers=bearer(consult["patient"]))
            for _ in range(10)
        )
    )
    assert [r.status_code for r in responses] == [200] * 10
    async with create_sessionmaker(database.engine)() as session:
        standing = await session.scalar(
            select(func.count())
            .select_from(RecordingConsent)
            .where(
                col(RecordingConsent.appointment_id) == uuid.UUID(consult["id"]),
                col(RecordingConsent.withdrawn_at).is_(None),
            )
        )
    assert standing == 1


async def test_one_worker_hosts_a_relay_until_its_claim_goes_stale(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    http = http_to(await server())
    consult = await consult_soon(http, database)
    appointment_id = uuid.UUID(consult["id"])
    sessions = create_sessionmaker(database.engine)
    stale_after = timedelta(seconds=15)

    async def claim(worker: str) -> str:
        async with sessions() as session:
            result = await media_service.claim_relay(
                session, appointment_id, worker, stale_after=stale_after
            )
            await session.commit()
            return result

    assert await claim("worker-0") == "off"  # a room in peer-to-peer mode has no relay
    async with sessions() as session:
        await session.execute(
            update(ConsultRoom)
            .where(col(ConsultRoom.appointment_id) == appointment_id)
            .values(mode="relay")
        )
        await session.commit()
    claims = await asyncio.gather(*(claim(f"worker-{n}") for n in range(8)))
    assert sorted(claims) == ["mine"] + ["other"] * 7
    owner = f"worker-{claims.index('mine')}"
    assert await claim(owner) == "mine"  # the host renews its claim

    async with sessions() as session:  # the host died: its heartbeat stops
        await session.execute(
            update(ConsultRoom)
            .where(col(ConsultRoom.appointment_id) == appointment_id)
            .values(relay_seen_at=clock.now() - timedelta(minutes=1))
        )
        await session.commit()
    takeover = await asyncio.gather(*(claim(f"spare-{n}") for n in range(4)))
    assert sorted(takeover) == ["mine"] + ["other"] * 3
    async with sessions() as session:
        assert not await media_service.relay_heartbeat(session, appointment_id, owner)
