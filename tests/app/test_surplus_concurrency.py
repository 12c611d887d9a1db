"""Patronage from consults, posting exactly once under concurrent requests, and each fiscal
year under the bylaws in force at its end — on SQLite and PostgreSQL, committing for real."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from app.db import create_sessionmaker
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.bylaws.schema import Bylaws
from cooperative.kernel.principal import Role
from cooperative.surplus.models import JournalEntry, JournalLine
from tests.conftest import Database
from tests.consult_support import consult_soon
from tests.factories import account_with_role, apply, bearer, decide, login
from tests.governance_support import install, patient_owner
from tests.surplus_support import approve, compute, record_patronage


async def _member(
    http: httpx.AsyncClient, admin: dict[str, Any], tokens: dict[str, Any], member_class: str
) -> dict[str, Any]:
    applied = await apply(http, tokens, member_class=member_class)
    approved = await decide(http, admin, applied["id"])
    assert approved.status_code == 200, approved.text
    member: dict[str, Any] = approved.json()
    return member


async def test_a_fulfilled_consult_is_patronage_until_refunded_or_entered_in_error(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    http = live_client_with()
    consult = await consult_soon(http, database, starts_in=timedelta(minutes=-40))
    admin = consult["admin"]
    patient = await _member(http, admin, consult["patient"], "patient")
    doctor = await _member(http, admin, consult["doctor"], "doctor")
    appointment = f"/v1/appointments/{consult['id']}"
    done = await http.post(
        f"{appointment}/status", json={"status": "fulfilled"}, headers=bearer(consult["doctor"])
    )
    assert done.status_code == 200, done.text
    fee = done.json()["fee"]["amount_minor"]

    def records(tokens: dict[str, Any]) -> Any:
        return http.get("/v1/surplus/patronage", headers=bearer(tokens))

    mine = (await records(consult["patient"])).json()["items"]
    assert [(r["kind"], r["amount"]) for r in mine] == [("consult_fee", fee)]
    theirs = (await records(consult["doctor"])).json()["items"]
    assert [(r["kind"], r["amount"], r["unit"]) for r in theirs] == [
        ("consult_minutes", 30, "minutes")
    ]
    refunds = await asyncio.gather(
        *(
            http.post(
                f"{appointment}/refund", json={"reason": "mala conexión"}, headers=bearer(admin)
            )
            for _ in range(3)
        )
    )
    assert all(r.status_code == 200 for r in refunds)
    mine = (await records(consult["patient"])).json()["items"]
    assert sorted(r["amount"] for r in mine) == [-fee, fee]  # reversed once, however often asked
    erred = await http.post(
        f"{appointment}/status",
        json={"status": "entered-in-error", "reason": "otro paciente"},
        headers=bearer(admin),
    )
    assert erred.status_code == 200
    theirs = (await records(consult["doctor"])).json()["items"]
    assert sum(r["amount"] for r in theirs) == 0
    assert {patient["member_class"], doctor["member_class"]} == {"patient", "doctor"}
    events = (await http.get(f"{appointment}/events", headers=bearer(admin))).json()["items"]
    assert [e["type"] for e in events].count("refunded") == 1


async def test_concurrent_posts_write_one_entry(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install(committed, default_bylaws())
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    owners = [await patient_owner(client, admin) for _ in range(3)]
    for tokens in owners:
        await record_patronage(client, admin, tokens, 20_000)
    run = await compute(client, admin, 333_333)
    await approve(client, admin, run["id"], owners)
    answers = await asyncio.gather(
        *(
            client.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin))
            for _ in range(6)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    async with committed() as session:
        entries = (
            await session.execute(select(func.count()).select_from(JournalEntry))
        ).scalar_one()
        debit, credit = (
            await session.execute(
                select(
                    func.sum(col(JournalLine.debit_minor)), func.sum(col(JournalLine.credit_minor))
                )
            )
        ).one()
    assert entries == 1
    assert debit == credit == 333_333


async def test_each_year_is_allocated_under_the_bylaws_in_force_at_its_end(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    first = default_bylaws()
    richer = first.model_dump(mode="json")
    richer["surplus"]["education_bp"] = 500
    async with committed() as session:
        await bylaws_service.install(
            session, first, account_id=None, effective_from=datetime(2024, 1, 1, tzinfo=UTC)
        )
        await bylaws_service.adopt(
            session,
            Bylaws.model_validate(richer),
            proposal_id=uuid.uuid4(),
            effective_from=datetime(2025, 7, 1, tzinfo=UTC),
        )
        await session.commit()
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    runs = {}
    for year in (2024, 2025):
        created = await client.post(
            "/v1/surplus/runs",
            json={"fiscal_year": year, "net_surplus_minor": 100_000, "currency": "MXN"},
            headers=bearer(admin),
        )
        assert created.status_code == 201, created.text
        runs[year] = created.json()
    assert runs[2024]["bylaws_version"] == 1
    assert runs[2024]["summary"]["education_minor"] == 2_000
    assert runs[2025]["bylaws_version"] == 2
    assert runs[2025]["summary"]["education_minor"] == 5_000


async def test_two_approved_runs_of_one_year_posted_together_post_one(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install(committed, default_bylaws())
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    owners = [await patient_owner(client, admin) for _ in range(2)]
    for tokens in owners:
        await record_patronage(client, admin, tokens, 30_000)
    runs = []
    for surplus in (200_000, 210_000):
        run = await compute(client, admin, surplus)
        await approve(client, admin, run["id"], owners)
        runs.append(run)
    answers = await asyncio.gather(
        *(client.post(f"/v1/surplus/runs/{r['id']}/post", headers=bearer(admin)) for r in runs)
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    async with committed() as session:
        entries = (
            await session.execute(select(func.count()).select_from(JournalEntry))
        ).scalar_one()
    assert entries == 1
