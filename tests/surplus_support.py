"""Helpers for surplus tests: patronage recorded by an admin, runs, the assembly's approval."""

from typing import Any

import httpx

from cooperative.kernel import clock
from tests.factories import bearer
from tests.governance_support import close, open_vote, propose, vote

YEAR = clock.today().year  # the fiscal year: the calendar year in the cooperative's zone


async def record_patronage(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    member: dict[str, Any],
    amount: int,
    *,
    unit: str = "MXN",
    year: int = YEAR,
    note: str = "cuotas pagadas en efectivo en la clínica",
) -> None:
    """`member` is an owner from governance_support (tokens with their `member`)."""
    recorded = await client.post(
        "/v1/surplus/patronage",
        json={
            "member_id": member["member"]["id"],
            "fiscal_year": year,
            "kind": "adjustment",
            "amount": amount,
            "unit": unit,
            "note": note,
        },
        headers=bearer(admin),
    )
    assert recorded.status_code == 201, recorded.text


async def compute(
    client: httpx.AsyncClient, admin: dict[str, Any], surplus: int, **fields: Any
) -> dict[str, Any]:
    body = {"fiscal_year": YEAR, "net_surplus_minor": surplus, "currency": "MXN", **fields}
    created = await client.post("/v1/surplus/runs", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    run: dict[str, Any] = created.json()
    return run


async def approve(
    client: httpx.AsyncClient, admin: dict[str, Any], run_id: str, voters: list[dict[str, Any]]
) -> dict[str, Any]:
    """The general assembly approves the run: a surplus_allocation proposal everyone backs."""
    draft = await propose(client, admin, "surplus_allocation", allocation_run_id=run_id)
    await open_vote(client, admin, draft["id"])
    for tokens in voters:
        assert (await vote(client, tokens, draft["id"], vote="yes")).status_code == 200
    closed = await close(client, admin, draft["id"])
    assert closed["passed"] is True
    return closed
