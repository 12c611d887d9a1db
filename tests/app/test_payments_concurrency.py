"""Concurrency on committed data: one report however often it is sent, one settlement however
many treasurers confirm at once, and never an invoice settled twice."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from app.db import create_sessionmaker
from cooperative.kernel.principal import Role
from tests.conftest import Database
from tests.factories import (
    account_with_role,
    active_member,
    bearer,
    dues_period,
    household,
    install_bylaws,
    login,
    report_payment,
)


async def _cooperative(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> tuple[httpx.AsyncClient, dict[str, Any], list[dict[str, Any]]]:
    """A live client, an admin and two treasurers, on committed data."""
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    treasurers = [
        await login(client, await account_with_role(committed, settings, Role.TREASURER))
        for _ in range(2)
    ]
    return client, admin, treasurers


async def _household_owing(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient-owner's household with this month's dues (MXN 200.00) invoiced."""
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    run = await client.post("/v1/dues/runs", json={"period": dues_period()}, headers=bearer(admin))
    assert run.status_code == 200, run.text
    return tokens, home


async def test_twenty_concurrent_retries_record_one_report(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """The same idempotent report sent 20 times at once, as a flaky mobile link may."""
    client, admin, _ = await _cooperative(live_client_with, database)
    tokens, home = await _household_owing(client, admin)
    body = {
        "household_id": home["id"],
        "amount_minor": 20000,
        "currency": "MXN",
        "method": "remittance",
        "reference": "MTCN 0123456789",
    }
    headers = {**bearer(tokens), "Idempotency-Key": "same-payment-sent-twenty-times"}
    responses = await asyncio.gather(
        *(client.post("/v1/payments", json=body, headers=headers) for _ in range(20))
    )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    payments = (await client.get("/v1/payments", headers=bearer(tokens))).json()["items"]
    assert [p["status"] for p in payments] == ["reported"]
    balance = (
        await client.get(f"/v1/households/{home['id']}/balance", headers=bearer(tokens))
    ).json()
    assert (balance["paid_minor"], balance["credit_minor"]) == (0, 0)  # until confirmed


async def test_treasurers_confirming_one_payment_at_once_settle_it_once(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client, admin, treasurers = await _cooperative(live_client_with, database)
    tokens, home = await _household_owing(client, admin)
    reported = await report_payment(client, tokens, household_id=home["id"], amount_minor=25000)
    url = f"/v1/payments/{reported.json()['id']}/confirm"
    responses = await asyncio.gather(
        *(client.post(url, headers=bearer(treasurers[i % 2])) for i in range(8))
    )
    assert [r.status_code for r in responses] == [200] * 8
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert len({r.text for r in responses}) == 1
    payment = responses[0].json()
    assert [a["amount_minor"] for a in payment["allocations"]] == [20000]
    assert payment["credit_minor"] == 5000
    balance = (
        await client.get(f"/v1/households/{home['id']}/balance", headers=bearer(tokens))
    ).json()
    assert (balance["paid_minor"], balance["credit_minor"]) == (20000, 5000)
    patronage = (await client.get("/v1/surplus/patronage", headers=bearer(tokens))).json()
    assert [(p["kind"], p["amount"]) for p in patronage["items"]] == [("dues", 20000)]


async def test_confirmations_of_different_payments_never_over_settle_an_invoice(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """Six reports of MXN 70.00 against MXN 200.00 owed, confirmed all at once."""
    client, admin, treasurers = await _cooperative(live_client_with, database)
    tokens, home = await _household_owing(client, admin)
    reports = [
        (await report_payment(client, tokens, household_id=home["id"], amount_minor=7000)).json()
        for _ in range(6)
    ]
    responses = await asyncio.gather(
        *(
            client.post(f"/v1/payments/{p['id']}/confirm", headers=bearer(treasurers[i % 2]))
            for i, p in enumerate(reports)
        )
    )
    assert [r.status_code for r in responses] == [200] * 6
    confirmed = [r.json() for r in responses]
    allocated = sum(a["amount_minor"] for p in confirmed for a in p["allocations"])
    assert allocated == 20000
    assert sum(p["credit_minor"] for p in confirmed) == 6 * 7000 - 20000
    [invoice] = (
        await client.get("/v1/dues", params={"household_id": home["id"]}, headers=bearer(tokens))
    ).json()["items"]
    assert (invoice["paid_minor"], invoice["outstanding_minor"]) == (20000, 0)
    patronage = (await client.get("/v1/surplus/patronage", headers=bearer(tokens))).json()
    assert sum(p["amount"] for p in patronage["items"]) == 20000  # credit is not yet dues
