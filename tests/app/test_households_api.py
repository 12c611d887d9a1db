"""Households, dependents, income attestations and the sliding-scale fee class through the API."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.membership.models import IncomeAttestation
from tests.factories import (
    active_member,
    attest,
    bearer,
    dues_period,
    household,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def test_a_rural_household_at_the_poverty_line_pays_the_nominal_class(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    assert home["currency"] == "MXN"
    # INEGI rural line, Jan 2026: MXN 3,465.76 per person per month; four people
    await attest(client, tokens, home["id"], income_minor=4 * 346576, household_size=4)
    fee = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(tokens))
    ).json()
    assert fee["code"] == "A"
    assert fee["nominal"] is True
    assert fee["basis"] == "attested"
    assert fee["dues"] == {"amount_minor": 2000, "currency": "MXN", "formatted": "MXN 20.00"}
    explanation = fee["explanation"]
    assert explanation["table"] == "INEGI 2026-01, rural"
    assert explanation["poverty_line"]["amount_minor"] == 4 * 346576
    assert explanation["percent_of_poverty_line"] == "100.00"
    assert fee["bylaws_version"] == 1
    assert "100.00%" in fee["summary"]["es"]

    # one centavo more is above 100%: the first discount class
    await attest(client, tokens, home["id"], income_minor=4 * 346576 + 1, household_size=4)
    fee = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(tokens))
    ).json()
    assert fee["code"] == "B"


async def test_a_us_household_in_alaska_uses_the_alaska_guideline(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(
        client, tokens, country="US", subdivision="AK", municipality="Anchorage", area="urban"
    )
    assert home["currency"] == "USD"
    # 2026 Alaska, household of 3: USD 34,150 a year; 250% of it is full price
    await attest(
        client,
        tokens,
        home["id"],
        income_minor=250 * 34150,
        currency="USD",
        period="annual",
        household_size=3,
    )
    fee = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(tokens))
    ).json()
    assert fee["explanation"]["table"] == "HHS 2026, Alaska"
    assert fee["explanation"]["poverty_line"]["amount_minor"] == 3415000
    assert fee["explanation"]["percent_of_poverty_line"] == "250.00"
    assert fee["code"] == "E"
    assert fee["consult_fee"]["currency"] == "USD"


async def test_without_a_valid_attestation_the_full_price_applies_and_says_why(
    client: httpx.AsyncClient,
    admin: dict[str, object],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    fee = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(tokens))
    ).json()
    assert (fee["code"], fee["basis"], fee["explanation"]) == ("E", "none", None)

    attestation = await attest(client, tokens, home["id"], income_minor=0)
    async with sessionmaker() as session:  # thirteen months pass
        await session.execute(
            update(IncomeAttestation)
            .where(col(IncomeAttestation.id) == uuid.UUID(attestation["id"]))
            .values(
                effective_on=clock.today() - timedelta(days=400),
                expires_on=clock.today() - timedelta(days=35),
            )
        )
        await session.commit()
    fee = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(tokens))
    ).json()
    assert (fee["code"], fee["basis"]) == ("E", "expired")
    assert "venció" in fee["summary"]["es"]
    assert fee["attestation_expires_on"] < clock.today().isoformat()


@pytest.mark.parametrize("days", [-2, 400])
async def test_attestations_cannot_be_post_dated_or_backdated_past_their_validity(
    client: httpx.AsyncClient, admin: dict[str, object], days: int
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    response = await client.post(
        f"/v1/households/{home['id']}/attestations",
        json={
            "income_minor": 100,
            "currency": "MXN",
            "period": "monthly",
            "household_size": 2,
            "effective_on": (clock.today() - timedelta(days=days)).isoformat(),
        },
        headers=bearer(tokens),
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/attestation-date")


async def test_income_in_the_wrong_currency_is_refused(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    response = await client.post(
        f"/v1/households/{home['id']}/attestations",
        json={"income_minor": 100, "currency": "USD", "period": "annual", "household_size": 2},
        headers=bearer(tokens),
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/currency-mismatch")


async def test_a_migrant_sponsors_a_household_in_mexico_that_strangers_cannot_see(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    sponsor, sponsor_tokens = await active_member(client, admin, full_name="Juan García")
    family = await household(
        client,
        sponsor_tokens,
        name="Familia García",
        subdivision="MIC",
        municipality="Morelia",
        area="urban",
        role="sponsor",
    )
    assert family["sponsor_member_id"] == sponsor["id"]
    assert family["member_ids"] == []
    # Juan still has no household of his own, and may create one where he lives
    own = await household(
        client,
        sponsor_tokens,
        country="US",
        subdivision="CA",
        municipality="Los Angeles",
        area="urban",
    )
    assert own["member_ids"] == [sponsor["id"]]
    mine = (await client.get("/v1/households", headers=bearer(sponsor_tokens))).json()["items"]
    assert {h["id"] for h in mine} == {family["id"], own["id"]}

    lupe, lupe_tokens = await active_member(client, admin, full_name="Lupe García")
    invited = await client.post(
        f"/v1/households/{family['id']}/members",
        json={"member_id": lupe["id"]},
        headers=bearer(sponsor_tokens),
    )
    assert (invited.json()["member_ids"], invited.json()["invited_member_ids"]) == (
        [],
        [lupe["id"]],
    )
    # Lupe sees the invitation, not the household; until she accepts it does not cover her
    (invitation,) = (
        await client.get("/v1/households/invitations", headers=bearer(lupe_tokens))
    ).json()["items"]
    assert invitation["household_name"] == "Familia García"
    seen = await client.get(f"/v1/households/{family['id']}", headers=bearer(lupe_tokens))
    assert seen.status_code == 404
    assert (await client.get(f"/v1/members/{lupe['id']}", headers=bearer(lupe_tokens))).json()[
        "household_id"
    ] is None
    accepted = await client.post(
        f"/v1/households/invitations/{invitation['id']}/accept", headers=bearer(lupe_tokens)
    )
    assert accepted.json()["member_ids"] == [lupe["id"]]
    child = await client.post(
        f"/v1/households/{family['id']}/dependents",
        json={"full_name": "Sofía García", "birth_year": 2019, "relationship": "hija"},
        headers=bearer(lupe_tokens),
    )
    assert child.status_code == 201

    _, stranger = await active_member(client, admin)
    for path in ("", "/fee-class", "/balance", "/attestations"):
        response = await client.get(
            f"/v1/households/{family['id']}{path}", headers=bearer(stranger)
        )
        assert response.status_code == 404, path
    strangers = (await client.get("/v1/households", headers=bearer(stranger))).json()["items"]
    assert strangers == []
    # the sponsor's reads of the family's data are in Lupe's access log
    await client.get(f"/v1/households/{family['id']}", headers=bearer(sponsor_tokens))
    log = (await client.get("/v1/me/access-log", headers=bearer(lupe_tokens))).json()["items"]
    assert f"household:{family['id']}" in {e["resource"] for e in log}


async def test_nobody_is_moved_into_a_household_without_consent(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, mallory = await active_member(client, admin)
    trap = await household(client, mallory)
    victim, victim_tokens = await active_member(client, admin)
    await client.post(
        f"/v1/households/{trap['id']}/members",
        json={"member_id": victim["id"]},
        headers=bearer(mallory),
    )
    await client.post("/v1/dues/runs", json={"period": dues_period()}, headers=bearer(admin))
    me = (await client.get(f"/v1/members/{victim['id']}", headers=bearer(victim_tokens))).json()
    assert (me["household_id"], me["in_good_standing"]) == (None, True)
    own = await household(client, victim_tokens)  # free to create her own, unanswered invite
    assert own["member_ids"] == [victim["id"]]
    # and the household's other member cannot remove her from her own household
    removed = await client.delete(
        f"/v1/households/{own['id']}/members/{victim['id']}", headers=bearer(mallory)
    )
    assert removed.status_code == 404


async def test_a_member_is_covered_by_one_household(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    await household(client, tokens)
    again = await client.post(
        "/v1/households",
        json={
            "name": "Otra",
            "country": "MX",
            "subdivision": "OAX",
            "municipality": "Oaxaca",
            "area": "urban",
        },
        headers=bearer(tokens),
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-in-household")


async def test_only_members_create_households_and_regions_are_checked(
    client: httpx.AsyncClient,
) -> None:
    _, tokens = await signed_up(client)
    body = {
        "name": "X",
        "country": "MX",
        "subdivision": "OAX",
        "municipality": "Y",
        "area": "rural",
    }
    response = await client.post("/v1/households", json=body, headers=bearer(tokens))
    assert response.status_code == 409
    assert response.json()["type"].endswith("/not-a-member")
    wrong = await client.post(
        "/v1/households", json={**body, "subdivision": "CA"}, headers=bearer(tokens)
    )
    assert wrong.status_code == 422


async def test_dependents_can_be_removed(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)
    child = (
        await client.post(
            f"/v1/households/{home['id']}/dependents",
            json={"full_name": "Mateo", "curp": "BOXW310820HNERXN09"},
            headers=bearer(tokens),
        )
    ).json()
    gone = await client.delete(
        f"/v1/households/{home['id']}/dependents/{child['id']}", headers=bearer(tokens)
    )
    assert gone.status_code == 204
    after = (await client.get(f"/v1/households/{home['id']}", headers=bearer(tokens))).json()
    assert after["dependents"] == []
