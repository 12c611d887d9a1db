"""The treasurer's exchange-rate table: bounded, dated, append-only, readable by members."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cooperative.kernel import clock
from tests.factories import active_member, bearer, exchange_rate, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")


def _body(rate: Any, **fields: Any) -> dict[str, Any]:
    return {
        "from_currency": "USD",
        "to_currency": "MXN",
        "rate": rate,
        "effective_on": clock.today().isoformat(),
        **fields,
    }


async def _post(
    client: httpx.AsyncClient, tokens: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/exchange-rates", json=body, headers=bearer(tokens))


async def test_a_treasurer_records_a_rate_that_members_may_read(
    client: httpx.AsyncClient, admin: dict[str, Any], treasurer: dict[str, Any]
) -> None:
    row = await exchange_rate(client, treasurer, "17.25430000", note="FIX del DOF")
    me = (await client.get("/v1/me", headers=bearer(treasurer))).json()
    assert (row["rate"], row["entered_by"], row["note"]) == ("17.2543", me["id"], "FIX del DOF")
    assert row["effective_on"] == clock.today().isoformat()
    _, member = await active_member(client, admin)
    listed = await client.get("/v1/exchange-rates", headers=bearer(member))
    assert [r["id"] for r in listed.json()["items"]] == [row["id"]]
    in_force = await client.get(
        "/v1/exchange-rates/in-force",
        params={"from_currency": "USD", "to_currency": "MXN"},
        headers=bearer(member),
    )
    assert in_force.json()["id"] == row["id"]
    none = await client.get(
        "/v1/exchange-rates/in-force",
        params={"from_currency": "MXN", "to_currency": "USD"},
        headers=bearer(member),
    )
    assert none.status_code == 404
    refused = await _post(client, member, _body("17.30"))
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("rate", "code"),
    [
        (17.25, "decimal_string"),  # a JSON number: floats lose digits
        ("0", "rate_positive"),
        ("-17", "rate_positive"),
        ("NaN", "rate_positive"),
        ("17.123456789", "rate_decimals"),
        ("0.0009", "rate_bounds"),
        ("1000.01", "rate_bounds"),
        ("100000", "rate_bounds"),
        ("diecisiete", "decimal_string"),
    ],
)
async def test_a_rate_is_a_bounded_decimal_string(
    client: httpx.AsyncClient, treasurer: dict[str, Any], rate: Any, code: str
) -> None:
    response = await _post(client, treasurer, _body(rate))
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("body.rate", code)]


async def test_a_rate_between_two_currencies_within_its_dates(
    client: httpx.AsyncClient, treasurer: dict[str, Any]
) -> None:
    same = await _post(client, treasurer, _body("1", to_currency="USD"))
    assert same.status_code == 422
    today = clock.today()
    for day in (today + timedelta(days=8), today.replace(year=1999)):
        response = await _post(client, treasurer, _body("17", effective_on=day.isoformat()))
        assert response.status_code == 422
        assert response.json()["type"].endswith("/exchange-rate-date")
    ahead = await _post(
        client, treasurer, _body("17", effective_on=(today + timedelta(days=7)).isoformat())
    )
    assert ahead.status_code == 201
    listed = await client.get("/v1/exchange-rates", headers=bearer(treasurer))
    assert len(listed.json()["items"]) == 1


async def test_a_change_of_more_than_a_fifth_needs_saying_so(
    client: httpx.AsyncClient, treasurer: dict[str, Any]
) -> None:
    week_ago = (clock.today() - timedelta(days=7)).isoformat()
    await exchange_rate(client, treasurer, "17.00", effective_on=week_ago)
    small = await _post(client, treasurer, _body("20.40"))  # +20%: within the bound
    assert small.status_code == 201
    typo = await _post(client, treasurer, _body("204.0"))  # a slipped decimal point
    assert typo.status_code == 422
    problem = typo.json()
    assert problem["type"].endswith("/exchange-rate-large-change")
    assert problem["previous_rate"] == "20.4"
    crash = await _post(client, treasurer, _body("15.00"))  # -26.5% from today's 20.40
    assert crash.status_code == 422
    confirmed = await _post(client, treasurer, _body("15.00", confirm_large_change=True))
    assert confirmed.status_code == 201
    assert confirmed.json()["large_change_confirmed"] is True
    in_force = await client.get(
        "/v1/exchange-rates/in-force",
        params={"from_currency": "USD", "to_currency": "MXN"},
        headers=bearer(treasurer),
    )
    assert in_force.json()["rate"] == "15"  # the last entered for the day wins


async def test_the_database_refuses_to_change_or_delete_a_rate(
    client: httpx.AsyncClient,
    treasurer: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    row = await exchange_rate(client, treasurer, "17.25")
    async with sessionmaker() as session:
        for statement in (
            "UPDATE exchange_rate SET rate = '1700'",
            "DELETE FROM exchange_rate",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(text(statement))
    kept = await client.get(f"/v1/exchange-rates/{row['id']}", headers=bearer(treasurer))
    assert kept.json()["rate"] == "17.25"


async def test_rates_are_read_by_signed_in_people_only(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/v1/exchange-rates")
    assert anonymous.status_code == 401
    _, applicant = await signed_up(client)
    assert (await client.get("/v1/exchange-rates", headers=bearer(applicant))).status_code == 200
