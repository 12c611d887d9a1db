"""Dues runs, confirmed payments, credits, balances, and retries that never report twice."""

from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.factories import (
    active_member,
    admin_tokens,
    attest,
    bearer,
    dues_period,
    household,
    paid,
    report_payment,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def _run(client: httpx.AsyncClient, admin: dict[str, Any], period: str) -> httpx.Response:
    return await client.post("/v1/dues/runs", json={"period": period}, headers=bearer(admin))


async def _dues(client: httpx.AsyncClient, tokens: dict[str, Any], household_id: str) -> list[Any]:
    query = f"/v1/dues?kind=dues&household_id={household_id}"
    items: list[Any] = (await client.get(query, headers=bearer(tokens))).json()["items"]
    return items


async def test_a_dues_run_prices_each_household_by_its_class_and_runs_once(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    _, poor_tokens = await active_member(client, admin)
    poor = await household(client, poor_tokens)
    await attest(client, poor_tokens, poor["id"], income_minor=100, household_size=3)
    _, us_tokens = await active_member(client, admin)
    us = await household(
        client, us_tokens, country="US", subdivision="TX", municipality="El Paso", area="urban"
    )

    this_month = dues_period()
    first = await _run(client, admin, this_month)  # whichever day of the month it is today
    assert first.status_code == 200
    assert first.json()["created"] >= 2
    assert first.json()["bylaws_version"] == 1
    second = await _run(client, admin, this_month)
    assert second.json()["created"] == 0
    assert second.json()["already_issued"] == first.json()["created"]

    [poor_dues] = await _dues(client, poor_tokens, poor["id"])
    assert (poor_dues["fee_class"], poor_dues["amount_minor"], poor_dues["currency"]) == (
        "A",
        2000,
        "MXN",
    )
    assert poor_dues["due_on"] == f"{this_month}-16"  # the bylaws' 15 days after the 1st
    [us_dues] = await _dues(client, us_tokens, us["id"])  # no attestation: full price, in USD
    assert (us_dues["fee_class"], us_dues["amount_minor"], us_dues["currency"]) == (
        "E",
        2000,
        "USD",
    )
    # neither can see the other's invoices
    assert await _dues(client, poor_tokens, us["id"]) == []


async def test_a_dues_run_prices_each_household_on_the_day_it_runs_or_the_periods_first_day(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """The rule: a household is priced by its class on the day of the run, or on the period's
    first day for a run made ahead of the period. On 2026-12-02, a household that attested on the
    2nd was billed full price for December, priced as of the 1st, although the run came later."""
    month, following = dues_period(1), dues_period(2)
    second_day = date.fromisoformat(f"{month}-02")
    year_before = (second_day + timedelta(days=18)).replace(year=second_day.year - 1)
    with clock.travel(datetime.combine(second_day, time(10), clock.zone())):
        admin = await admin_tokens(client, sessionmaker, settings)
        _, late_tokens = await active_member(client, admin)
        late = await household(client, late_tokens)
        await attest(client, late_tokens, late["id"], income_minor=100, household_size=3)
        _, lapsing_tokens = await active_member(client, admin)
        lapsing = await household(client, lapsing_tokens)
        # valid until the 20th: a run for the following month, made now, is priced on its 1st
        await attest(
            client,
            lapsing_tokens,
            lapsing["id"],
            income_minor=100,
            household_size=3,
            effective_on=year_before.isoformat(),
        )
        assert (await _run(client, admin, month)).status_code == 200
        assert (await _run(client, admin, following)).status_code == 200

        def classes(invoices: list[Any]) -> dict[str, str]:
            return {invoice["period"]: invoice["fee_class"] for invoice in invoices}

        assert classes(await _dues(client, late_tokens, late["id"])) == {
            month: "A",  # attested on the 2nd, before the run: its class counts
            following: "A",
        }
        assert classes(await _dues(client, lapsing_tokens, lapsing["id"])) == {
            month: "A",
            following: "E",  # priced on its 1st, after the attestation lapsed
        }


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "26-12", "2026-1"])
async def test_a_dues_run_refuses_a_bad_period(
    client: httpx.AsyncClient, admin: dict[str, Any], period: str
) -> None:
    response = await _run(client, admin, period)
    assert response.status_code == 422


async def test_only_admins_run_dues(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    response = await client.post(
        "/v1/dues/runs", json={"period": dues_period()}, headers=bearer(tokens)
    )
    assert response.status_code == 403


async def test_confirmed_pesos_settle_the_dues_and_the_excess_is_a_credit_for_next_month(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    await attest(client, tokens, home["id"], income_minor=100, household_size=2)
    await _run(client, admin, dues_period())  # the attestation made before the run counts
    payment = await paid(client, tokens, treasurer, household_id=home["id"], amount_minor=5000)
    assert payment["settled_minor"] == 5000
    assert [a["amount_minor"] for a in payment["allocations"]] == [2000]
    assert payment["credit_minor"] == 3000
    balance = (
        await client.get(f"/v1/households/{home['id']}/balance", headers=bearer(tokens))
    ).json()
    assert balance == {
        "currency": "MXN",
        "invoiced_minor": 2000,
        "paid_minor": 2000,
        "outstanding_minor": 0,
        "overdue_minor": 0,
        "credit_minor": 3000,
    }
    await _run(client, admin, dues_period(1))
    following = [
        i for i in await _dues(client, tokens, home["id"]) if i["period"] == dues_period(1)
    ]
    assert following[0]["paid_minor"] == 2000  # settled from the credit
    balance = (
        await client.get(f"/v1/households/{home['id']}/balance", headers=bearer(tokens))
    ).json()
    assert balance["credit_minor"] == 1000


async def test_strangers_cannot_report_into_or_read_someone_elses_household(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    _, stranger = await active_member(client, admin)
    response = await report_payment(client, stranger, household_id=home["id"], amount_minor=100)
    assert response.status_code == 404
    mine = await report_payment(client, tokens, household_id=home["id"], amount_minor=100)
    assert (
        await client.get(f"/v1/payments/{mine.json()['id']}", headers=bearer(stranger))
    ).status_code == 404
    assert (
        await client.get(f"/v1/payments/{mine.json()['id']}", headers=bearer(admin))
    ).status_code == 200


async def test_a_retried_report_with_the_same_key_records_once(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    body = {
        "household_id": home["id"],
        "amount_minor": 2500,
        "currency": "MXN",
        "method": "transfer",
        "reference": "SPEI 0987654321",
    }
    headers = {**bearer(tokens), "Idempotency-Key": "pago-noviembre-rosa"}
    first = await client.post("/v1/payments", json=body, headers=headers)
    retry = await client.post("/v1/payments", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert first.json()["status"] == "reported"
    payments = (await client.get("/v1/payments", headers=bearer(tokens))).json()["items"]
    assert len(payments) == 1
    reused = await client.post("/v1/payments", json={**body, "amount_minor": 1}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("/idempotency-key-reused")


async def test_a_sponsored_household_of_dependents_is_billed(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    _, sponsor = await active_member(client, admin)
    family = await household(
        client, sponsor, role="sponsor", area="urban", subdivision="MIC", municipality="Morelia"
    )
    await client.post(
        f"/v1/households/{family['id']}/dependents",
        json={"full_name": "Abuela García"},
        headers=bearer(sponsor),
    )
    await _run(client, admin, dues_period())
    [dues] = await _dues(client, sponsor, family["id"])
    assert (dues["fee_class"], dues["currency"]) == ("E", "MXN")


async def test_large_but_valid_amounts_are_kept_exactly(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    """A clinic's yearly transfer fits: amounts are 64-bit, not 32-bit, on PostgreSQL too."""
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    big = 10**12
    payment = await paid(client, tokens, treasurer, household_id=home["id"], amount_minor=big)
    assert payment["credit_minor"] == big
    too_big = await report_payment(client, tokens, household_id=home["id"], amount_minor=big + 1)
    assert too_big.status_code == 422
