"""Becoming a member-owner: applying, decisions, good standing, and who sees what."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.dues.models import Invoice
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from tests.factories import (
    account_with_role,
    active_member,
    admin_tokens,
    apply,
    bearer,
    decide,
    login,
    paid,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def test_apply_then_approval_makes_an_owner_in_good_standing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    _, tokens = await signed_up(client)
    member = await apply(client, tokens, share_instalments=5, curp="boxw310820hnerxn09")
    assert member["status"] == "applicant"
    assert member["in_good_standing"] is False
    assert member["curp"] == "BOXW310820HNERXN09"
    assert member["bylaws_version"] == 1

    approved = await decide(client, admin, member["id"])
    assert approved.status_code == 200
    assert approved.json()["status"] == "active"
    assert approved.json()["in_good_standing"] is True

    shares = (await client.get("/v1/dues?kind=share", headers=bearer(tokens))).json()["items"]
    assert len(shares) == 5
    assert sum(i["amount_minor"] for i in shares) == 50000  # the patient share, MXN 500
    assert sorted(i["due_on"] for i in shares) == [i["due_on"] for i in shares]
    capital = await client.get(
        f"/v1/members/{member['id']}/capital-account", headers=bearer(tokens)
    )
    assert capital.json()["share_subscribed_minor"] == 50000
    assert capital.json()["share_paid_minor"] == 0


async def test_one_membership_per_account(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    await apply(client, tokens)
    again = await client.post(
        "/v1/members", json={"member_class": "patient", "full_name": "Rosa"}, headers=bearer(tokens)
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-member")


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"member_class": "investor"}, 422, "unknown-member-class"),
        ({"member_class": "doctor"}, 403, "forbidden"),
        ({"share_instalments": 11}, 422, "too-many-instalments"),
        ({"curp": "BOXW310820HNERXN08"}, 422, "validation-error"),
        ({"immigration_status": "x"}, 422, "validation-error"),
        ({"ssn": "123-45-6789"}, 422, "validation-error"),
    ],
)
async def test_bad_applications_are_refused_and_create_nothing(
    client: httpx.AsyncClient, body: dict[str, object], status: int, problem: str
) -> None:
    _, tokens = await signed_up(client)
    response = await client.post(
        "/v1/members",
        json={"member_class": "patient", "full_name": "Rosa", **body},
        headers=bearer(tokens),
    )
    assert response.status_code == status, response.text
    assert response.json()["type"].endswith(f"/{problem}")
    mine = (await client.get("/v1/members", headers=bearer(tokens))).json()["items"]
    assert mine == []


async def test_a_doctor_may_join_the_doctor_class(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    tokens = await login(client, await account_with_role(sessionmaker, settings, Role.DOCTOR))
    member = await apply(client, tokens, member_class="doctor", share_instalments=12)
    assert member["member_class"] == "doctor"


async def test_decisions_follow_the_lifecycle_and_need_reasons(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    _, tokens = await signed_up(client)
    member = await apply(client, tokens)
    no_reason = await decide(client, admin, member["id"], "reject")
    assert no_reason.status_code == 422
    assert no_reason.json()["type"].endswith("/reason-required")
    rejected = await decide(client, admin, member["id"], "reject", reason="Datos incompletos")
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["status_reason"] == "Datos incompletos"
    late = await decide(client, admin, member["id"], "approve")
    assert late.status_code == 409
    assert late.json()["type"].endswith("/invalid-membership-transition")

    other, other_tokens = await active_member(client, admin)
    suspended = await decide(client, admin, other["id"], "suspend", reason="Conducta")
    assert suspended.json()["in_good_standing"] is False
    reinstated = await decide(client, admin, other["id"], "reinstate")
    assert reinstated.json()["status"] == "active"
    # a member may withdraw, but not approve or reinstate anyone, themselves included
    assert (await decide(client, other_tokens, other["id"], "suspend", "x")).status_code == 403
    withdrawn = await decide(client, other_tokens, other["id"], "withdraw")
    assert withdrawn.json()["status"] == "withdrawn"


async def test_unpaid_dues_past_grace_lapse_a_member_and_paying_restores(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    member, tokens = await active_member(client, admin)
    grace = 60  # the default bylaws
    async with sessionmaker() as session:  # the first instalment fell due long ago
        first = (
            await session.execute(
                update(Invoice)
                .where(
                    col(Invoice.member_id) == uuid.UUID(member["id"]), col(Invoice.period) == "1/1"
                )
                .values(due_on=clock.today() - timedelta(days=grace + 5))
                .returning(col(Invoice.id))
            )
        ).scalar_one()
        await session.commit()
    lapsed = (await client.get(f"/v1/members/{member['id']}", headers=bearer(tokens))).json()
    assert lapsed["status"] == "lapsed"
    assert lapsed["in_good_standing"] is False

    payment = await paid(client, tokens, admin, member_id=member["id"], amount_minor=50000)
    assert payment["allocations"] == [{"invoice_id": str(first), "amount_minor": 50000}]
    restored = (await client.get(f"/v1/members/{member['id']}", headers=bearer(tokens))).json()
    balance = await client.get(f"/v1/members/{member['id']}/balance", headers=bearer(tokens))
    assert (balance.json()["paid_minor"], balance.json()["overdue_minor"]) == (50000, 0)
    assert restored["status"] == "active"
    assert restored["in_good_standing"] is True


async def test_members_see_only_themselves_and_admin_reads_are_logged(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    rosa, rosa_tokens = await active_member(client, admin)
    juan, juan_tokens = await active_member(client, admin, full_name="Juan García")

    assert (
        await client.get(f"/v1/members/{juan['id']}", headers=bearer(rosa_tokens))
    ).status_code == 404
    listed = (await client.get("/v1/members", headers=bearer(rosa_tokens))).json()["items"]
    assert [m["id"] for m in listed] == [rosa["id"]]
    roll = (await client.get("/v1/members?status=active", headers=bearer(admin))).json()["items"]
    assert {rosa["id"], juan["id"]} <= {m["id"] for m in roll}

    await client.get(f"/v1/members/{rosa['id']}", headers=bearer(rosa_tokens))  # her own: no log
    await client.get(f"/v1/members/{rosa['id']}", headers=bearer(admin))
    log = (await client.get("/v1/me/access-log", headers=bearer(rosa_tokens))).json()["items"]
    assert log, "the admin's reads must be in Rosa's access log"
    assert {entry["accessor_role"] for entry in log} == {"admin"}
    assert f"member:{rosa['id']}" in {entry["resource"] for entry in log}
    juan_log = (await client.get("/v1/me/access-log", headers=bearer(juan_tokens))).json()["items"]
    assert f"member:{rosa['id']}" not in {entry["resource"] for entry in juan_log}


async def test_member_lists_paginate_with_cursors(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    made = {(await active_member(client, admin))[0]["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = "/v1/members?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(query, headers=bearer(admin))).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    bad = await client.get("/v1/members?cursor=not-a-cursor", headers=bearer(admin))
    assert bad.status_code == 400
    assert bad.json()["type"].endswith("/invalid-cursor")


async def test_an_admin_token_without_the_admin_scope_has_no_admin_powers(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """An admin who signs a third-party app in with membership scopes only gives it no more."""
    email = await account_with_role(sessionmaker, settings, Role.ADMIN)
    narrowed = await login(client, email, scope="membership:read membership:write")
    _, tokens = await signed_up(client)
    member = await apply(client, tokens)
    assert (await decide(client, narrowed, member["id"])).status_code == 404
    roll = (await client.get("/v1/members", headers=bearer(narrowed))).json()["items"]
    assert roll == []


async def test_the_status_filter_finds_lapsed_members(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    member, _ = await active_member(client, admin)
    async with sessionmaker() as session:
        await session.execute(
            update(Invoice)
            .where(col(Invoice.member_id) == uuid.UUID(member["id"]))
            .values(due_on=clock.today() - timedelta(days=100))
        )
        await session.commit()
    lapsed = (await client.get("/v1/members?status=lapsed", headers=bearer(admin))).json()
    active = (await client.get("/v1/members?status=active", headers=bearer(admin))).json()
    assert member["id"] in {m["id"] for m in lapsed["items"]}
    assert member["id"] not in {m["id"] for m in active["items"]}
