"""Surplus allocation through the API: patronage in, a draft run, the assembly's approval, one
posting, notices, capital accounts, and a reversing correction."""

import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from tests.factories import apply, bearer, household, paid, report_payment, signed_up
from tests.governance_support import (
    doctor_owner,
    install,
    patient_owner,
)
from tests.surplus_support import YEAR, approve, compute, record_patronage

Sessions = async_sessionmaker[AsyncSession]


async def _pay_dues(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    tokens: dict[str, Any],
    months: int,
    *,
    at_the_desk: bool = False,
    **home: Any,
) -> int:
    """A household for the member, `months` of dues invoiced (full price: no attestation, MXN
    200.00 or USD 20.00 a month), and all of it paid: reported by the member and confirmed by
    the admin, or with `at_the_desk` recorded by the admin as cash received today."""
    created = await household(client, tokens, **home)
    for month in range(1, months + 1):
        run = await client.post(
            "/v1/dues/runs", json={"period": f"{YEAR}-{month:02d}"}, headers=bearer(admin)
        )
        assert run.status_code in (200, 201), run.text
    invoices = (
        await client.get(
            "/v1/dues",
            params={"kind": "dues", "household_id": created["id"]},
            headers=bearer(tokens),
        )
    ).json()["items"]
    owed: int = sum(i["outstanding_minor"] for i in invoices)
    body = {"household_id": created["id"], "amount_minor": owed, "currency": created["currency"]}
    if at_the_desk:
        recorded = await report_payment(
            client, admin, **body, received_on=clock.today().isoformat()
        )
        assert recorded.status_code == 201, recorded.text
    else:
        await paid(client, tokens, admin, **body)
    return owed


async def test_a_year_from_patronage_to_posted_notices_and_a_reversal(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(sessionmaker, default_bylaws())
    rosa, juan = await patient_owner(client, admin), await patient_owner(client, admin)
    elena = await doctor_owner(client, admin, sessionmaker, settings)
    assert await _pay_dues(client, admin, rosa, 3) == 60_000  # three months of MXN 200.00
    assert await _pay_dues(client, admin, juan, 1) == 20_000
    await record_patronage(
        client, admin, elena, 600, unit="minutes", note="consultas de brigada en la Mixteca"
    )
    mine = (await client.get("/v1/surplus/patronage", headers=bearer(rosa))).json()["items"]
    assert [(p["kind"], p["amount"], p["unit"]) for p in mine] == [("dues", 60_000, "MXN")]

    created = await client.post(
        "/v1/surplus/runs",
        json={"fiscal_year": YEAR, "net_surplus_minor": 1_000_000, "currency": "MXN"},
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["status"] == "draft"
    assert run["bylaws_version"] == 1
    s = run["summary"]
    # MXN 10,000.00: reserve 15% (no share capital paid yet, so the cap is 0: nothing),
    # education 2% = 200.00, welfare 3% = 300.00, the rest 9,500.00 split 50/50
    assert (s["reserve_minor"], s["education_minor"], s["welfare_minor"]) == (0, 20_000, 30_000)
    assert s["classes"]["patient"]["pool_minor"] == 475_000
    assert s["classes"]["doctor"]["pool_minor"] == 475_000
    export = await client.get(f"/v1/surplus/runs/{run['id']}/lines.csv", headers=bearer(admin))
    rows = {r["member_id"]: r for r in csv.DictReader(io.StringIO(export.text))}
    rosa_line = rows[rosa["member"]["id"]]
    # pro rata 600:200 of MXN 4,750.00 -> 3,562.50 and 1,187.50; 20% cash rounded up
    assert (rosa_line["share_minor"], rosa_line["cash_minor"]) == ("356250", "71250")
    assert rows[juan["member"]["id"]]["share_minor"] == "118750"
    assert rows[elena["member"]["id"]]["share_minor"] == "475000"

    early = await client.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin))
    assert early.status_code == 409
    assert early.json()["type"].endswith("/allocation-not-approved")
    approved = await approve(client, admin, run["id"], [rosa, juan, elena])
    assert approved["passed"] is True

    posted = await client.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin))
    assert posted.status_code == 200, posted.text
    entry = posted.json()
    assert sum(x["debit_minor"] for x in entry["lines"]) == 1_000_000
    assert sum(x["credit_minor"] for x in entry["lines"]) == 1_000_000
    again = await client.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin))
    assert again.status_code == 409
    recompute = await client.post(
        "/v1/surplus/runs",
        json={"fiscal_year": YEAR, "net_surplus_minor": 5, "currency": "MXN"},
        headers=bearer(admin),
    )
    assert recompute.status_code == 409
    assert recompute.json()["type"].endswith("/allocation-posted")

    url = f"/v1/surplus/runs/{run['id']}/notices/{rosa['member']['id']}"
    spanish = (await client.get(url, headers=bearer(rosa))).json()
    assert spanish["share_minor"] == 356_250
    assert spanish["retained_minor"] == 356_250 - 71_250
    assert spanish["redemption_year"] == YEAR + 5
    assert spanish["bylaws_version"] == 1
    assert "Ejercicio" in spanish["intro"]
    english = (await client.get(url, params={"lang": "en"}, headers=bearer(rosa))).json()
    assert english["title"] == "Notice of allocation of patronage refund"
    page = await client.get(url, params={"format": "html"}, headers=bearer(rosa))
    assert page.headers["content-type"].startswith("text/html")
    assert "MXN 2,850.00" in page.text  # the retained part
    assert "http" not in page.text.split("<body>")[0]  # nothing from outside hosts
    other = await client.get(url, headers=bearer(juan))
    assert other.status_code == 404
    listed = (await client.get("/v1/surplus/notices", headers=bearer(rosa))).json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]
    export_ = (await client.get("/v1/me/export", headers=bearer(rosa))).json()
    assert [r["kind"] for r in export_["patronage"]] == ["dues"]
    assert [a["share_minor"] for a in export_["allocations"]] == [356_250]
    account = f"/v1/surplus/capital-accounts/{rosa['member']['id']}"
    assert (await client.get(account, headers=bearer(rosa))).json()["retained"] == {"MXN": 285_000}

    reversed_ = await client.post(
        f"/v1/surplus/runs/{run['id']}/reverse",
        json={"reason": "the accounts were audited again"},
        headers=bearer(admin),
    )
    assert reversed_.status_code == 200
    mirror = reversed_.json()
    assert mirror["reverses_id"] == entry["id"]
    assert sum(x["credit_minor"] for x in mirror["lines"]) == 1_000_000
    assert (await client.get(account, headers=bearer(rosa))).json()["retained"] == {"MXN": 0}
    journal = (
        await client.get(f"/v1/surplus/runs/{run['id']}/journal", headers=bearer(admin))
    ).json()["items"]
    assert [e["kind"] for e in journal] == ["allocation", "reversal"]
    fresh = await client.post(
        "/v1/surplus/runs",
        json={"fiscal_year": YEAR, "net_surplus_minor": 900_000, "currency": "MXN"},
        headers=bearer(admin),
    )
    assert fresh.status_code == 201  # after the reversal the year is open again


async def test_patronage_in_dollars_is_converted_at_the_recorded_year_end_rate(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    maria, pedro = await patient_owner(client, admin), await patient_owner(client, admin)
    await _pay_dues(client, admin, maria, 1)  # MXN 200.00
    dollars = await _pay_dues(
        client, admin, pedro, 1, country="US", subdivision="CA", municipality="Fresno", area="urban"
    )
    assert dollars == 2_000  # USD 20.00
    body = {"fiscal_year": YEAR, "net_surplus_minor": 100_000, "currency": "MXN"}
    missing = await client.post("/v1/surplus/runs", json=body, headers=bearer(admin))
    assert missing.status_code == 422
    assert missing.json()["type"].endswith("/exchange-rate-missing")
    created = await client.post(
        "/v1/surplus/runs", json={**body, "rates": {"USD": "10.00"}}, headers=bearer(admin)
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["rates"] == {"USD": "10.00"}
    for rate in ("0", "-20", "1e30", "NaN"):
        bad = await client.post(
            "/v1/surplus/runs", json={**body, "rates": {"USD": rate}}, headers=bearer(admin)
        )
        assert bad.status_code == 422, rate
    export = await client.get(f"/v1/surplus/runs/{run['id']}/lines.csv", headers=bearer(admin))
    rows = {r["member_id"]: r for r in csv.DictReader(io.StringIO(export.text))}
    # USD 20.00 at 10 MXN per dollar is MXN 200.00: the same patronage as Maria's
    assert rows[pedro["member"]["id"]]["patronage"] == "20000"
    assert rows[pedro["member"]["id"]]["share_minor"] == rows[maria["member"]["id"]]["share_minor"]


async def test_only_admins_compute_and_only_kinds_the_bylaws_list_are_recorded(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    member = await patient_owner(client, admin)
    body = {"fiscal_year": YEAR, "net_surplus_minor": 100_000, "currency": "MXN"}
    assert (
        await client.post("/v1/surplus/runs", json=body, headers=bearer(member))
    ).status_code == 403
    record = {
        "member_id": member["member"]["id"],
        "fiscal_year": YEAR,
        "kind": "adjustment",
        "amount": 500,
        "unit": "MXN",
        "note": "corrección de un recibo",
    }
    for change, slug in (
        ({"kind": "gift"}, "patronage-kind"),
        ({"unit": "minutes"}, "patronage-unit"),
        ({"note": ""}, "validation"),
    ):
        refused = await client.post(
            "/v1/surplus/patronage", json={**record, **change}, headers=bearer(admin)
        )
        assert refused.status_code == 422, change
        assert slug in refused.json()["type"] or slug == "validation"
    listed = await client.get(
        "/v1/surplus/patronage",
        params={"member_id": member["member"]["id"]},
        headers=bearer(admin),
    )
    assert listed.json()["items"] == []  # nothing was recorded by the refusals


async def test_the_journal_refuses_to_be_edited(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    owners = [await patient_owner(client, admin) for _ in range(2)]
    for tokens in owners:
        await _pay_dues(client, admin, tokens, 1)
    run = await compute(client, admin, 50_000)
    await approve(client, admin, run["id"], owners)
    assert (
        await client.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin))
    ).status_code == 200
    edit = text("UPDATE journal_line SET credit_minor = credit_minor + 1")
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(edit)


async def test_only_member_owners_accrue_and_a_prepaid_credit_is_not_yet_patronage(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    rosa = await patient_owner(client, admin)
    _, applicant = await signed_up(client)
    await apply(client, applicant)
    home = await household(client, applicant)
    await paid(client, applicant, admin, household_id=home["id"], amount_minor=50_000)
    assert (await client.get("/v1/surplus/patronage", headers=bearer(applicant))).json()[
        "items"
    ] == []
    # the admin takes Rosa's dues in cash at the clinic's desk: the patronage is Rosa's
    owed = await _pay_dues(client, admin, rosa, 1, at_the_desk=True)
    mine = (await client.get("/v1/surplus/patronage", headers=bearer(rosa))).json()["items"]
    assert [(p["kind"], p["amount"]) for p in mine] == [("dues", owed)]
    ahead = await paid(
        client, rosa, admin, household_id=await _home_of(client, rosa), amount_minor=500_000
    )
    assert ahead["credit_minor"] == 500_000
    mine = (await client.get("/v1/surplus/patronage", headers=bearer(rosa))).json()["items"]
    assert sum(p["amount"] for p in mine) == owed  # a credit for future months counts later


async def _home_of(client: httpx.AsyncClient, tokens: dict[str, Any]) -> str:
    homes = (await client.get("/v1/households", headers=bearer(tokens))).json()["items"]
    home_id: str = homes[0]["id"]
    return home_id


async def test_a_year_that_broke_even_posts_and_drafts_stay_with_the_admins(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    owners = [await patient_owner(client, admin) for _ in range(2)]
    for tokens in owners:
        await _pay_dues(client, admin, tokens, 1)
    run = await compute(client, admin, 0)
    url = f"/v1/surplus/runs/{run['id']}/notices/{owners[0]['member']['id']}"
    assert (await client.get(url, headers=bearer(owners[0]))).status_code == 404
    draft = (await client.get(url, params={"lang": "en"}, headers=bearer(admin))).json()
    assert "DRAFT" in draft["intro"]
    await approve(client, admin, run["id"], owners)
    posted = await client.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin))
    assert posted.status_code == 200, posted.text
    assert posted.json()["lines"] == []
    notice = (await client.get(url, params={"lang": "en"}, headers=bearer(owners[0]))).json()
    assert notice["share_minor"] == 0
    assert "approved by the general assembly" in notice["intro"]
    late = await client.post(
        "/v1/surplus/patronage",
        json={
            "member_id": owners[0]["member"]["id"],
            "fiscal_year": YEAR,
            "kind": "adjustment",
            "amount": 100,
            "unit": "MXN",
            "note": "llegó tarde",
        },
        headers=bearer(admin),
    )
    assert late.status_code == 409  # the year is allocated: nothing more goes into it
