"""Money enters the books only through someone accountable: members report payments, a
treasurer confirms or rejects them, and converts them at the rates the treasurer keeps."""

import uuid
from datetime import timedelta
from typing import Any

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
    apply,
    bearer,
    decide,
    dues_period,
    exchange_rate,
    household,
    join_household,
    login,
    paid,
    report_payment,
    treasurer_tokens,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def _dues_run(client: httpx.AsyncClient, admin: dict[str, Any]) -> None:
    run = await client.post("/v1/dues/runs", json={"period": dues_period()}, headers=bearer(admin))
    assert run.status_code == 200, run.text


async def _balance(
    client: httpx.AsyncClient, tokens: dict[str, Any], home: dict[str, Any]
) -> dict[str, Any]:
    response = await client.get(f"/v1/households/{home['id']}/balance", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    balance: dict[str, Any] = response.json()
    return balance


async def _patronage(client: httpx.AsyncClient, tokens: dict[str, Any]) -> list[Any]:
    items: list[Any] = (await client.get("/v1/surplus/patronage", headers=bearer(tokens))).json()[
        "items"
    ]
    return items


async def _decide(
    client: httpx.AsyncClient, tokens: dict[str, Any], payment_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/payments/{payment_id}/{action}", json=body or None, headers=bearer(tokens)
    )


async def _lapsed_member(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient-owner whose share (MXN 500.00, one instalment) fell due long ago."""
    member, tokens = await active_member(client, admin)
    async with sessionmaker() as session:
        await session.execute(
            update(Invoice)
            .where(col(Invoice.member_id) == uuid.UUID(member["id"]))
            .values(due_on=clock.today() - timedelta(days=65))
        )
        await session.commit()
    return member, tokens


async def _standing(client: httpx.AsyncClient, tokens: dict[str, Any], member_id: str) -> bool:
    response = await client.get(f"/v1/members/{member_id}", headers=bearer(tokens))
    standing: bool = response.json()["in_good_standing"]
    return standing


async def test_a_cent_at_a_rate_of_one_hundred_thousand_settles_nothing_until_confirmed(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    """The attack from the issue: a patient posts USD 0.01 "at a rate of 100,000" to settle
    their dues, gain credit, good standing and patronage. The rate is refused; the report
    settles nothing until a treasurer confirms it, and then only what was paid."""
    _, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    await _dues_run(client, admin)  # MXN 200.00 owed (no attestation: full price)
    attack = await report_payment(
        client,
        rosa,
        household_id=home["id"],
        amount_minor=1,
        currency="USD",
        exchange_rate="100000",
    )
    assert attack.status_code == 422
    assert [e["field"] for e in attack.json()["errors"]] == ["body.exchange_rate"]

    reported = await report_payment(
        client, rosa, household_id=home["id"], amount_minor=1, currency="USD"
    )
    assert reported.status_code == 201, reported.text
    assert reported.json()["status"] == "reported"
    assert (reported.json()["settled_minor"], reported.json()["allocations"]) == (None, [])
    balance = await _balance(client, rosa, home)
    assert (balance["paid_minor"], balance["outstanding_minor"], balance["credit_minor"]) == (
        0,
        20000,
        0,
    )
    assert await _patronage(client, rosa) == []

    await exchange_rate(client, treasurer, "17.25")
    confirmed = await _decide(client, treasurer, reported.json()["id"], "confirm")
    assert confirmed.status_code == 200, confirmed.text
    # USD 0.01 at 17.25 = MXN 0.1725, rounded half to even: 17 centavos, and not one more
    assert (confirmed.json()["settled_minor"], confirmed.json()["exchange_rate"]) == (17, "17.25")
    balance = await _balance(client, rosa, home)
    assert (balance["paid_minor"], balance["outstanding_minor"], balance["credit_minor"]) == (
        17,
        19983,
        0,
    )
    assert [(p["kind"], p["amount"]) for p in await _patronage(client, rosa)] == [("dues", 17)]


async def test_a_reported_share_payment_restores_good_standing_only_when_confirmed(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    treasurer: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    member, tokens = await _lapsed_member(client, admin, sessionmaker)
    assert await _standing(client, tokens, member["id"]) is False
    reported = await report_payment(client, tokens, member_id=member["id"], amount_minor=50000)
    assert reported.status_code == 201
    assert await _standing(client, tokens, member["id"]) is False
    assert (await _decide(client, treasurer, reported.json()["id"], "confirm")).status_code == 200
    assert await _standing(client, tokens, member["id"]) is True
    assert await _patronage(client, tokens) == []  # a share is capital, not patronage


async def test_a_rejection_leaves_everything_untouched_and_the_payer_sees_why(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    _, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    await _dues_run(client, admin)
    reported = (
        await report_payment(client, rosa, household_id=home["id"], amount_minor=20000)
    ).json()
    before = await _balance(client, rosa, home)
    reason = "No encontramos esa referencia en el estado de cuenta del 28 de noviembre."
    rejected = await _decide(client, treasurer, reported["id"], "reject", reason=reason)
    assert rejected.status_code == 200, rejected.text
    again = await _decide(client, treasurer, reported["id"], "reject", reason="otra vez")
    assert (again.status_code, again.json()["rejection_reason"]) == (200, reason)
    assert again.headers["idempotent-replayed"] == "true"

    seen = (await client.get(f"/v1/payments/{reported['id']}", headers=bearer(rosa))).json()
    assert (seen["status"], seen["rejection_reason"]) == ("rejected", reason)
    assert await _balance(client, rosa, home) == before
    assert await _patronage(client, rosa) == []
    late = await _decide(client, treasurer, reported["id"], "confirm")
    assert late.status_code == 409
    assert late.json()["type"].endswith("/payment-not-pending")
    assert await _balance(client, rosa, home) == before
    withdrawn = await _decide(client, rosa, reported["id"], "withdraw")
    assert withdrawn.status_code == 409
    confirmed = await paid(client, rosa, treasurer, household_id=home["id"], amount_minor=500)
    refused = await _decide(client, treasurer, confirmed["id"], "reject", reason="error")
    assert refused.status_code == 409


async def test_the_reporter_withdraws_a_pending_report(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    lupe_member, lupe = await active_member(client, admin)
    _, juan = await active_member(client, admin)
    family = await household(
        client, juan, role="sponsor", subdivision="MIC", area="urban", municipality="Morelia"
    )
    await join_household(client, juan, family["id"], lupe_member, lupe)
    _, stranger = await active_member(client, admin)
    reported = (
        await report_payment(client, juan, household_id=family["id"], amount_minor=20000)
    ).json()

    # Lupe, who lives there, sees the sponsor's report and its status, but it is not hers
    listed = (await client.get("/v1/payments", headers=bearer(lupe))).json()["items"]
    assert [(p["id"], p["status"]) for p in listed] == [(reported["id"], "reported")]
    not_hers = await _decide(client, lupe, reported["id"], "withdraw")
    assert not_hers.status_code == 403
    assert not_hers.json()["type"].endswith("/not-your-report")
    assert (await _decide(client, stranger, reported["id"], "withdraw")).status_code == 404

    withdrawn = await _decide(client, juan, reported["id"], "withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["withdrawn_at"] is not None
    assert (await _decide(client, juan, reported["id"], "withdraw")).status_code == 200
    refused = await _decide(client, treasurer, reported["id"], "confirm")
    assert refused.status_code == 409
    assert (await _balance(client, juan, family))["paid_minor"] == 0


async def test_money_in_another_currency_is_converted_at_the_rate_in_force_the_day_received(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    """Juan, in Los Angeles, pays his family's pesos dues in dollars."""
    _, juan = await active_member(client, admin, full_name="Juan García")
    family = await household(
        client, juan, role="sponsor", subdivision="MIC", area="urban", municipality="Morelia"
    )
    today = clock.today()
    week_ago = (today - timedelta(days=7)).isoformat()
    old = await exchange_rate(client, treasurer, "17.10", effective_on=week_ago)
    current = await exchange_rate(client, treasurer, "17.255")
    # entered ahead for tomorrow (in the cooperative's zone): not yet in force today
    await exchange_rate(
        client, treasurer, "18.90", effective_on=(today + timedelta(days=1)).isoformat()
    )

    received_today = await paid(
        client, juan, treasurer, household_id=family["id"], amount_minor=1000, currency="USD"
    )
    # USD 10.00 at 17.255 = MXN 172.55: both amounts, the rate and its row are recorded
    assert (received_today["amount_minor"], received_today["currency"]) == (1000, "USD")
    assert (received_today["settled_minor"], received_today["settled_currency"]) == (17255, "MXN")
    assert (received_today["exchange_rate"], received_today["exchange_rate_id"]) == (
        "17.255",
        current["id"],
    )
    assert received_today["received_on"] == today.isoformat()

    last_week = await paid(
        client,
        juan,
        treasurer,
        received_on=week_ago,
        household_id=family["id"],
        amount_minor=1000,
        currency="USD",
    )
    assert (last_week["settled_minor"], last_week["exchange_rate_id"]) == (17100, old["id"])
    assert last_week["received_on"] == week_ago

    # a correction for today is a new row; the last entered wins for payments confirmed later
    corrected = await exchange_rate(client, treasurer, "17.2555", note="corrección del FIX")
    later = await paid(
        client, juan, treasurer, household_id=family["id"], amount_minor=100, currency="USD"
    )
    assert (later["settled_minor"], later["exchange_rate_id"]) == (1726, corrected["id"])
    used = await client.get(f"/v1/exchange-rates/{current['id']}", headers=bearer(juan))
    assert used.json()["rate"] == "17.255"  # the row the first payment used is unchanged


async def test_without_a_rate_in_force_the_treasurer_is_told_to_record_one(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    _, juan = await active_member(client, admin)
    family = await household(
        client, juan, role="sponsor", subdivision="MIC", area="urban", municipality="Morelia"
    )
    await _dues_run(client, admin)
    reported = (
        await report_payment(
            client, juan, household_id=family["id"], amount_minor=2000, currency="USD"
        )
    ).json()
    await exchange_rate(client, treasurer, "0.058", source="MXN", target="USD")  # the other way
    refused = await _decide(client, treasurer, reported["id"], "confirm")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/no-exchange-rate")
    assert "USD→MXN" in problem["detail"] and "/v1/exchange-rates" in problem["detail"]
    still = (await client.get(f"/v1/payments/{reported['id']}", headers=bearer(juan))).json()
    assert (still["status"], still["settled_minor"]) == ("reported", None)
    assert (await _balance(client, juan, family))["paid_minor"] == 0

    await exchange_rate(client, treasurer, "17.00")
    assert (await _decide(client, treasurer, reported["id"], "confirm")).status_code == 200
    assert (await _balance(client, juan, family))["paid_minor"] == 20000  # USD 20 = MXN 340


async def test_confirming_again_answers_the_first_confirmation(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    treasurer: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    _, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    await _dues_run(client, admin)
    reported = (
        await report_payment(client, rosa, household_id=home["id"], amount_minor=30000)
    ).json()
    first = await _decide(client, treasurer, reported["id"], "confirm")
    other = await treasurer_tokens(client, sessionmaker, settings)
    again = await _decide(client, other, reported["id"], "confirm")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (
        first.json()["confirmed_by"]
        == (await client.get("/v1/me", headers=bearer(treasurer))).json()["id"]
    )
    another_day = await _decide(
        client,
        other,
        reported["id"],
        "confirm",
        received_on=(clock.today() - timedelta(days=3)).isoformat(),
    )
    assert another_day.status_code == 409
    balance = await _balance(client, rosa, home)
    assert (balance["paid_minor"], balance["credit_minor"]) == (20000, 10000)
    assert [(p["kind"], p["amount"]) for p in await _patronage(client, rosa)] == [("dues", 20000)]
    future = (await report_payment(client, rosa, household_id=home["id"], amount_minor=100)).json()
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    ahead = await _decide(client, treasurer, future["id"], "confirm", received_on=tomorrow)
    assert ahead.status_code == 422
    assert ahead.json()["type"].endswith("/received-in-the-future")


async def test_a_treasurer_never_confirms_their_own_money(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    treasurer: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Segregation of duties. Marta is a treasurer and also a patient-owner with a household;
    her husband is a member of it too."""
    marta = await login(
        client, await account_with_role(sessionmaker, settings, Role.PATIENT, Role.TREASURER)
    )
    approved = await decide(client, admin, (await apply(client, marta))["id"])
    assert approved.status_code == 200, approved.text
    home = await household(client, marta)
    husband_member, husband = await active_member(client, admin)
    await join_household(client, marta, home["id"], husband_member, husband)

    hers = (await report_payment(client, marta, household_id=home["id"], amount_minor=500)).json()
    refused = await _decide(client, marta, hers["id"], "confirm")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/own-payment")
    his = (await report_payment(client, husband, household_id=home["id"], amount_minor=700)).json()
    assert (await _decide(client, marta, his["id"], "confirm")).status_code == 403
    at_the_desk = await report_payment(
        client,
        marta,
        household_id=home["id"],
        amount_minor=900,
        received_on=clock.today().isoformat(),
    )
    assert at_the_desk.status_code == 403
    assert (await _balance(client, marta, home))["credit_minor"] == 0

    # another treasurer confirms both, and an admin may confirm what they entered themselves
    assert (await _decide(client, treasurer, hers["id"], "confirm")).status_code == 200
    assert (await _decide(client, treasurer, his["id"], "confirm")).status_code == 200
    desk = (await report_payment(client, admin, household_id=home["id"], amount_minor=100)).json()
    assert (await _decide(client, admin, desk["id"], "confirm")).status_code == 200
    assert (await _balance(client, marta, home))["credit_minor"] == 1300


async def test_a_treasurer_records_cash_received_at_the_desk_for_the_household(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    rosa_member, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    await _dues_run(client, admin)
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    recorded = await report_payment(
        client,
        treasurer,
        household_id=home["id"],
        amount_minor=20000,
        reference="recibo 0042, caja de la clínica",
        received_on=yesterday,
    )
    assert recorded.status_code == 201, recorded.text
    payment = recorded.json()
    assert (payment["status"], payment["received_on"], payment["settled_minor"]) == (
        "confirmed",
        yesterday,
        20000,
    )
    me = (await client.get("/v1/me", headers=bearer(treasurer))).json()
    assert payment["confirmed_by"] == payment["payer_account_id"] == me["id"]
    assert (await _balance(client, rosa, home))["outstanding_minor"] == 0
    # the dues are Rosa's patronage, not the treasurer's
    assert [(p["kind"], p["amount"]) for p in await _patronage(client, rosa)] == [("dues", 20000)]
    seen = (await client.get(f"/v1/payments/{payment['id']}", headers=bearer(rosa))).json()
    assert seen["status"] == "confirmed"
    # a member does not record money as received: they report it
    member_desk = await report_payment(
        client, rosa, member_id=rosa_member["id"], amount_minor=100, received_on=yesterday
    )
    assert member_desk.status_code == 403
    assert member_desk.json()["type"].endswith("/treasurer-only")


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.CLINIC_STAFF, Role.BOARD])
async def test_only_treasurers_confirm_reject_and_keep_the_rates(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    role: Role,
) -> None:
    _, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    reported = (
        await report_payment(client, rosa, household_id=home["id"], amount_minor=100)
    ).json()
    other = await login(client, await account_with_role(sessionmaker, settings, role))
    for action, body in (("confirm", {}), ("reject", {"reason": "no"})):
        response = await _decide(client, other, reported["id"], action, **body)
        assert response.status_code == 403, (action, response.text)
        assert home["id"] not in response.text
        assert reported["payer_account_id"] not in response.text
    rate = await client.post(
        "/v1/exchange-rates",
        json={
            "from_currency": "USD",
            "to_currency": "MXN",
            "rate": "17",
            "effective_on": clock.today().isoformat(),
        },
        headers=bearer(other),
    )
    assert rate.status_code == 403
    assert (await _decide(client, rosa, reported["id"], "confirm")).status_code == 403
    still = (await client.get(f"/v1/payments/{reported['id']}", headers=bearer(rosa))).json()
    assert still["status"] == "reported"


async def test_strangers_see_nothing_of_a_payment(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    rosa_member, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    payment = (await report_payment(client, rosa, household_id=home["id"], amount_minor=100)).json()
    _, stranger = await active_member(client, admin)
    doctor = await login(client, await account_with_role(sessionmaker, settings, Role.DOCTOR))
    owner_ids = (home["id"], rosa_member["id"], payment["payer_account_id"])
    for tokens in (stranger, doctor):
        for response in (
            await client.get(f"/v1/payments/{payment['id']}", headers=bearer(tokens)),
            await _decide(client, tokens, payment["id"], "withdraw"),
        ):
            assert response.status_code == 404
            assert not any(owner_id in response.text for owner_id in owner_ids)
        listed = await client.get(
            "/v1/payments", params={"household_id": home["id"]}, headers=bearer(tokens)
        )
        assert listed.json()["items"] == []


async def test_treasurers_review_the_queue_of_reported_payments_page_by_page(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    reports = []
    for _ in range(3):
        _, tokens = await active_member(client, admin)
        home = await household(client, tokens)
        reports.append(
            (await report_payment(client, tokens, household_id=home["id"], amount_minor=100)).json()
        )
    done = await _decide(client, treasurer, reports[0]["id"], "confirm")
    assert done.status_code == 200
    first = await client.get(
        "/v1/payments", params={"status": "reported", "limit": 1}, headers=bearer(treasurer)
    )
    assert first.status_code == 200, first.text
    second = await client.get(
        "/v1/payments",
        params={"status": "reported", "limit": 1, "cursor": first.json()["next_cursor"]},
        headers=bearer(treasurer),
    )
    queue = first.json()["items"] + second.json()["items"]
    assert [p["id"] for p in queue] == [reports[1]["id"], reports[2]["id"]]  # oldest first
    assert second.json()["next_cursor"] is None
    everything = await client.get("/v1/payments", headers=bearer(treasurer))
    assert {p["id"] for p in everything.json()["items"]} == {r["id"] for r in reports}
    one = await client.get(f"/v1/payments/{reports[2]['id']}", headers=bearer(treasurer))
    assert one.status_code == 200
    assert "income" not in one.text


async def test_a_treasurer_cannot_step_out_of_her_household_to_confirm_its_money(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    treasurer: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Carmen left her household, was invited into Frank's, confirmed his report and then
    accepted: being invited (or having joined by invitation) counts as her own."""
    carmen = await login(
        client, await account_with_role(sessionmaker, settings, Role.PATIENT, Role.TREASURER)
    )
    carmen_member = await apply(client, carmen)
    assert (await decide(client, admin, carmen_member["id"])).status_code == 200
    _, frank = await active_member(client, admin)
    home = await household(client, frank)
    invited = await client.post(
        f"/v1/households/{home['id']}/members",
        json={"member_id": carmen_member["id"]},
        headers=bearer(frank),
    )
    assert invited.status_code == 200, invited.text
    report = await report_payment(client, frank, household_id=home["id"], amount_minor=20000)
    refused = await _decide(client, carmen, report.json()["id"], "confirm")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/own-payment")
    assert (await _decide(client, treasurer, report.json()["id"], "confirm")).status_code == 200


async def test_the_day_money_arrived_cannot_be_moved_back_at_will(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    """A confirmation dated 2001 settled this month's dues and put the patronage in 2001, at
    whatever rate that year had."""
    _, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    report = await report_payment(client, rosa, household_id=home["id"], amount_minor=2000)
    long_ago = await client.post(
        f"/v1/payments/{report.json()['id']}/confirm",
        json={"received_on": "2001-01-01"},
        headers=bearer(treasurer),
    )
    assert long_ago.status_code == 422
    assert long_ago.json()["type"].endswith("/received-too-long-ago")
    last_month = (clock.today() - timedelta(days=30)).isoformat()
    confirmed = await client.post(
        f"/v1/payments/{report.json()['id']}/confirm",
        json={"received_on": last_month},
        headers=bearer(treasurer),
    )
    assert confirmed.status_code == 200, confirmed.text


async def test_what_a_treasurer_reads_of_a_payment_is_in_the_payers_access_log(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    _, juan = await active_member(client, admin)
    home = await household(client, juan)
    report = (
        await report_payment(
            client, juan, household_id=home["id"], amount_minor=2000, note="de mi tía en Fresno"
        )
    ).json()
    assert (await client.get(f"/v1/payments/{report['id']}", headers=bearer(treasurer))).is_success
    assert (await client.get("/v1/payments", headers=bearer(treasurer))).is_success
    log = (await client.get("/v1/me/access-log", headers=bearer(juan))).json()["items"]
    read = {(entry["accessor_role"], entry["resource"]) for entry in log}
    assert ("treasurer", f"payment:{report['id']}") in read
    assert ("treasurer", "payments") in read


async def test_credit_that_pays_a_later_months_dues_becomes_patronage_then(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    """A migrant who prepays: the excess was credit, the next month's dues were paid from it,
    and that month never counted as their patronage (their share of the surplus shrank)."""
    _, juan = await active_member(client, admin)
    home = await household(client, juan, area="urban")
    await _dues_run(client, admin)
    [invoice] = (await client.get("/v1/dues", headers=bearer(juan))).json()["items"][-1:]
    dues = invoice["amount_minor"]
    await paid(client, juan, treasurer, household_id=home["id"], amount_minor=dues * 3)
    assert sum(r["amount"] for r in await _patronage(client, juan)) == dues
    for months_ahead in (1, 2):
        run = await client.post(
            "/v1/dues/runs", json={"period": dues_period(months_ahead)}, headers=bearer(admin)
        )
        assert run.status_code == 200, run.text
    assert (await _balance(client, juan, home))["credit_minor"] == 0
    assert sum(r["amount"] for r in await _patronage(client, juan)) == dues * 3
    again = await client.post(
        "/v1/dues/runs", json={"period": dues_period(2)}, headers=bearer(admin)
    )
    assert again.json()["created"] == 0
    assert sum(r["amount"] for r in await _patronage(client, juan)) == dues * 3  # once
