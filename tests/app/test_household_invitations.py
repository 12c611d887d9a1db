"""Household invitations block nothing: the invited member lists them, accepts or declines."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from cooperative.kernel import clock
from tests.factories import active_member, attest, bearer, household, login

pytestmark = pytest.mark.usefixtures("bylaws_installed")

Tokens = dict[str, Any]


async def _invite(
    client: httpx.AsyncClient, inviter: Tokens, home: dict[str, Any], member: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/households/{home['id']}/members",
        json={"member_id": member["id"]},
        headers=bearer(inviter),
    )
    assert response.status_code == 200, response.text
    sent: list[dict[str, Any]] = [
        i for i in response.json()["invitations"] if i["member_id"] == member["id"]
    ]
    assert sent[0]["status"] == "pending"
    return sent[0]


async def _invitations(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    response = await client.get("/v1/households/invitations", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _accept(client: httpx.AsyncClient, tokens: Tokens, invitation_id: str) -> httpx.Response:
    return await client.post(
        f"/v1/households/invitations/{invitation_id}/accept", headers=bearer(tokens)
    )


async def _member(client: httpx.AsyncClient, tokens: Tokens, member_id: str) -> dict[str, Any]:
    me: dict[str, Any] = (
        await client.get(f"/v1/members/{member_id}", headers=bearer(tokens))
    ).json()
    return me


async def test_a_pending_invitation_blocks_nothing(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    _, juan = await active_member(client, admin)
    family = await household(client, juan, name="Familia García")
    lupe, lupe_tokens = await active_member(client, admin)
    await _invite(client, juan, family, lupe)

    # Lupe creates her own household without answering the invitation first
    own = await household(client, lupe_tokens, name="Casa de Lupe")
    assert own["member_ids"] == [lupe["id"]]
    assert (await _member(client, lupe_tokens, lupe["id"]))["household_id"] == own["id"]
    # the invitation is still hers to answer; accepting while covered says what to do
    (invitation,) = await _invitations(client, lupe_tokens)
    refused = await _accept(client, lupe_tokens, invitation["id"])
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/already-in-household")
    assert (await _member(client, lupe_tokens, lupe["id"]))["household_id"] == own["id"]
    left = await client.delete(
        f"/v1/households/{own['id']}/members/{lupe['id']}", headers=bearer(lupe_tokens)
    )
    assert left.status_code == 204
    joined = await _accept(client, lupe_tokens, invitation["id"])
    assert joined.status_code == 200
    assert joined.json()["member_ids"] == sorted([lupe["id"], *family["member_ids"]])
    assert await _invitations(client, lupe_tokens) == []


async def test_pending_invitations_from_two_households_do_not_block_each_other(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    _, juan = await active_member(client, admin)
    _, ana = await active_member(client, admin)
    first = await household(client, juan, name="Familia García")
    second = await household(client, ana, name="Familia López")
    lupe, lupe_tokens = await active_member(client, admin)
    await _invite(client, juan, first, lupe)
    await _invite(client, ana, second, lupe)
    mine = {i["household_name"]: i for i in await _invitations(client, lupe_tokens)}
    assert set(mine) == {"Familia García", "Familia López"}
    assert (await _accept(client, lupe_tokens, mine["Familia López"]["id"])).status_code == 200
    assert (await _member(client, lupe_tokens, lupe["id"]))["household_id"] == second["id"]


async def test_the_invited_member_sees_who_invited_them_and_nothing_private(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    _, juan = await active_member(client, admin)
    family = await household(client, juan, name="Familia García", municipality="Morelia")
    await attest(client, juan, family["id"], income_minor=1234567)
    await client.post(
        f"/v1/households/{family['id']}/dependents",
        json={"full_name": "Sofía García", "curp": "BOXW310820HNERXN09"},
        headers=bearer(juan),
    )
    lupe, lupe_tokens = await active_member(client, admin)
    await _invite(client, juan, family, lupe)
    me = (await client.get("/v1/me", headers=bearer(juan))).json()

    response = await client.get("/v1/households/invitations", headers=bearer(lupe_tokens))
    (invitation,) = response.json()["items"]
    assert invitation["household_name"] == "Familia García"
    assert invitation["municipality"] == "Morelia"
    assert invitation["invited_by"] == me["display_name"]
    for private in ("1234567", "Sofía", "BOXW310820HNERXN09", "income"):
        assert private not in response.text
    for path in ("", "/fee-class", "/attestations"):
        seen = await client.get(f"/v1/households/{family['id']}{path}", headers=bearer(lupe_tokens))
        assert seen.status_code == 404, path

    # nobody else sees it or may answer it
    _, stranger = await active_member(client, admin)
    assert await _invitations(client, stranger) == []
    assert (await _accept(client, stranger, invitation["id"])).status_code == 404
    declined_by_stranger = await client.post(
        f"/v1/households/invitations/{invitation['id']}/decline", headers=bearer(stranger)
    )
    assert declined_by_stranger.status_code == 404


async def test_declining_removes_it_and_the_inviter_sees_the_answer(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    _, juan = await active_member(client, admin)
    family = await household(client, juan)
    lupe, lupe_tokens = await active_member(client, admin)
    sent = await _invite(client, juan, family, lupe)

    declined = await client.post(
        f"/v1/households/invitations/{sent['id']}/decline", headers=bearer(lupe_tokens)
    )
    assert declined.status_code == 204
    assert await _invitations(client, lupe_tokens) == []
    assert (await _accept(client, lupe_tokens, sent["id"])).status_code == 404
    seen = (await client.get(f"/v1/households/{family['id']}", headers=bearer(juan))).json()
    (answer,) = seen["invitations"]
    assert (answer["status"], answer["answered_at"] is not None) == ("declined", True)
    assert seen["invited_member_ids"] == []
    assert (await _member(client, lupe_tokens, lupe["id"]))["household_id"] is None


async def test_a_declined_invitation_is_not_sent_again_for_ninety_days(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    """An invitation carries the household's name: renamed to a threat and sent again after
    each decline, it reached the member with no way to stop it."""
    _, eve = await active_member(client, admin)
    home = await household(client, eve)
    rosa, rosa_tokens = await active_member(client, admin)
    sent = await _invite(client, eve, home, rosa)
    await client.post(
        f"/v1/households/invitations/{sent['id']}/decline", headers=bearer(rosa_tokens)
    )
    await client.patch(
        f"/v1/households/{home['id']}", json={"name": "Sabemos dónde vives"}, headers=bearer(eve)
    )
    again = await client.post(
        f"/v1/households/{home['id']}/members", json={"member_id": rosa["id"]}, headers=bearer(eve)
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/invitation-declined-recently")
    assert await _invitations(client, rosa_tokens) == []
    eve_email = (await client.get("/v1/me", headers=bearer(eve))).json()["email"]
    with clock.travel(clock.now() + timedelta(days=91)):
        later = await login(client, eve_email)
        assert (await _invite(client, later, home, rosa))["status"] == "pending"


async def test_accepting_a_withdrawn_invitation_is_a_404(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    _, juan = await active_member(client, admin)
    family = await household(client, juan)
    lupe, lupe_tokens = await active_member(client, admin)
    sent = await _invite(client, juan, family, lupe)
    _, stranger = await active_member(client, admin)
    not_theirs = await client.delete(
        f"/v1/households/{family['id']}/invitations/{sent['id']}", headers=bearer(stranger)
    )
    assert not_theirs.status_code == 404

    withdrawn = await client.delete(
        f"/v1/households/{family['id']}/invitations/{sent['id']}", headers=bearer(juan)
    )
    assert withdrawn.status_code == 204
    assert await _invitations(client, lupe_tokens) == []
    assert (await _accept(client, lupe_tokens, sent["id"])).status_code == 404
    assert (await _member(client, lupe_tokens, lupe["id"]))["household_id"] is None
