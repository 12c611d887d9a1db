"""ARCO rights: a member exports everything held about them, and erases what may be erased."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.dues.models import Invoice, Payment
from cooperative.membership.models import Dependent, IncomeAttestation, Member
from tests.factories import (
    PASSWORD,
    active_member,
    admin_tokens,
    attest,
    bearer,
    dues_period,
    household,
    report_payment,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def _rosa_with_everything(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    admin = await admin_tokens(client, sessionmaker, settings)
    member, tokens = await active_member(client, admin, curp="BOXW310820HNERXN09")
    home = await household(client, tokens)
    await attest(client, tokens, home["id"], income_minor=500000, household_size=3)
    await client.post(
        f"/v1/households/{home['id']}/dependents",
        json={"full_name": "Mateo Martínez", "birth_year": 2018},
        headers=bearer(tokens),
    )
    await report_payment(client, tokens, member_id=member["id"], amount_minor=50000)
    await client.get(f"/v1/households/{home['id']}", headers=bearer(admin))  # logged
    return admin, member, tokens, home


async def test_an_account_without_membership_exports_only_itself(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Its member id is None: `member_id == None` once matched every household's dues invoice
    (with its fee class, the family's poverty bracket) and every unowned patronage row."""
    admin, rosa, rosa_tokens, home = await _rosa_with_everything(client, sessionmaker, settings)
    await client.post("/v1/dues/runs", json={"period": dues_period()}, headers=bearer(admin))
    assert (await client.get("/v1/dues", headers=bearer(rosa_tokens))).json()["items"]
    stranger, tokens = await signed_up(client)
    response = await client.get("/v1/me/export", headers=bearer(tokens))
    assert response.status_code == 200
    data = response.json()
    assert data["account"]["id"] == stranger["id"]
    assert data["membership"] is None
    for part in ("share_subscription", "households", "invoices", "payments", "patronage"):
        assert data[part] == [], part
    assert data["governance"]["cosigned"] == []
    for owned in (rosa["id"], home["id"], rosa["account_id"]):
        assert owned not in response.text
    log = (await client.get("/v1/me/access-log", headers=bearer(rosa_tokens))).json()["items"]
    assert all(entry["accessor_account_id"] != stranger["id"] for entry in log)


async def test_export_holds_everything_about_me_and_no_secret(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, member, tokens, home = await _rosa_with_everything(client, sessionmaker, settings)
    response = await client.get("/v1/me/export", headers=bearer(tokens))
    assert response.status_code == 200
    data = response.json()
    assert data["membership"]["id"] == member["id"]
    assert data["membership"]["curp"] == "BOXW310820HNERXN09"
    assert [h["id"] for h in data["households"]] == [home["id"]]
    assert data["dependents"][0]["full_name"] == "Mateo Martínez"
    assert data["income_attestations"][0]["income_minor"] == 500000
    assert len(data["invoices"]) == 1 and data["payments"][0]["amount_minor"] == 50000
    assert any(e["resource"] == f"household:{home['id']}" for e in data["access_log"])
    text = response.text
    assert "password_hash" not in text and "$argon2" not in text
    assert "token_hash" not in text


async def test_erasure_needs_the_password(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, _, tokens, _ = await _rosa_with_everything(client, sessionmaker, settings)
    response = await client.post(
        "/v1/me/erasure", json={"password": "not my password"}, headers=bearer(tokens)
    )
    assert response.status_code == 401
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 200


async def test_erasure_removes_personal_data_and_keeps_the_books(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, member, tokens, home = await _rosa_with_everything(client, sessionmaker, settings)
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    response = await client.post(
        "/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(tokens)
    )
    assert response.status_code == 200
    assert response.json()["kept"]

    # signed out everywhere, and the old login no longer works
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401
    login = await client.post(
        "/v1/auth/token", json={"username": me["email"], "password": PASSWORD}
    )
    assert login.status_code == 401

    member_id, household_id = uuid.UUID(member["id"]), uuid.UUID(home["id"])
    async with sessionmaker() as session:
        account = await session.get(Account, uuid.UUID(me["id"]))
        assert account is not None
        assert me["email"] not in (account.email or "")
        assert account.display_name == "[erased]" and account.is_active is False
        row = await session.get(Member, member_id)
        assert row is not None
        assert (row.full_name, row.curp, row.status) == ("[erased]", None, "withdrawn")

        async def count(
            model: type[SQLModel], column: Mapped[uuid.UUID | None], value: uuid.UUID
        ) -> int:
            statement = select(func.count()).select_from(model).where(column == value)
            return (await session.execute(statement)).scalar_one()

        # the family's personal data went with her (she lived alone in that household)
        assert await count(Dependent, col(Dependent.household_id), household_id) == 0
        assert (
            await count(IncomeAttestation, col(IncomeAttestation.household_id), household_id) == 0
        )
        # the books stay: her share invoice and her payment, now anonymous
        assert await count(Invoice, col(Invoice.member_id), member_id) == 1
        assert await count(Payment, col(Payment.member_id), member_id) == 1
