"""Concurrency on committed data: the same idempotent payment sent twenty times at once."""

import asyncio
from collections.abc import Callable

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
)


async def test_twenty_concurrent_retries_record_one_payment(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """The same idempotent payment sent 20 times at once, as a flaky mobile link may."""
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    await client.post("/v1/dues/runs", json={"period": dues_period()}, headers=bearer(admin))
    body = {"household_id": home["id"], "amount_minor": 2000, "currency": "MXN"}
    headers = {**bearer(tokens), "Idempotency-Key": "same-payment-sent-twenty-times"}
    responses = await asyncio.gather(
        *(client.post("/v1/payments", json=body, headers=headers) for _ in range(20))
    )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    payments = (await client.get("/v1/payments", headers=bearer(tokens))).json()["items"]
    assert len(payments) == 1
    balance = (
        await client.get(f"/v1/households/{home['id']}/balance", headers=bearer(tokens))
    ).json()
    assert (balance["paid_minor"], balance["credit_minor"]) == (2000, 0)
