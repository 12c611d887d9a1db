"""What a household reads beside its class at the bounds, in both languages (issue 14, item 18)."""

from typing import Any

import httpx
import pytest

from tests.factories import active_member, attest, bearer, household

pytestmark = pytest.mark.usefixtures("bylaws_installed")


async def _fee(client: httpx.AsyncClient, tokens: dict[str, Any], home: dict[str, Any]) -> Any:
    answer = await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(tokens))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_us_household_a_cent_over_200_percent_is_told_just_over(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(
        client, tokens, country="US", subdivision="CA", municipality="Los Angeles", area="urban"
    )
    usd = {"currency": "USD", "period": "annual", "household_size": 1}
    await attest(client, tokens, home["id"], income_minor=3_192_001, **usd)  # $31,920.01
    fee = await _fee(client, tokens, home)
    assert fee["code"] == "E"
    assert fee["explanation"]["percent_of_poverty_line"] == "200.01"
    assert fee["summary"]["en"] == (
        "Household income is just over 200% of the poverty line (HHS 2026, 48 states + DC): "
        "class E."
    )
    assert fee["summary"]["es"] == (
        "El ingreso del hogar es poco más del 200% de la línea de pobreza (HHS 2026, 48 states "
        "+ DC): clase E."
    )
    await attest(client, tokens, home["id"], income_minor=3_192_000, **usd)  # exactly 200%
    fee = await _fee(client, tokens, home)
    assert fee["code"] == "D"
    assert "200.00%" in fee["summary"]["en"] and "200.00%" in fee["summary"]["es"]


async def test_a_mexican_household_a_centavo_over_the_line_is_told_just_over(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    _, tokens = await active_member(client, admin)
    home = await household(client, tokens)  # rural Oaxaca
    await attest(client, tokens, home["id"], income_minor=4 * 346_576 + 1, household_size=4)
    fee = await _fee(client, tokens, home)
    assert fee["code"] == "B"
    assert fee["explanation"]["percent_of_poverty_line"] == "100.01"
    assert "just over 100% of the poverty line" in fee["summary"]["en"]
    assert "poco más del 100% de la línea de pobreza" in fee["summary"]["es"]
    assert "100.00%" not in str(fee["summary"])
