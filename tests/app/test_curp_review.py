"""A CURP already on file goes to an admin's review: applying reveals nothing about the other
membership, and one CURP never ends up on two active members."""

from typing import Any

import httpx
import pytest

from tests.factories import active_member, apply, bearer, decide, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")

CURP = "BOXW310820HNERXN09"
Tokens = dict[str, Any]


def _as_seen(member: dict[str, Any]) -> dict[str, Any]:
    """An application's answer without what differs between any two applications."""
    different = {"id", "account_id", "applied_at", "full_name"}
    return {key: value for key, value in member.items() if key not in different}


async def _review(
    client: httpx.AsyncClient, tokens: Tokens, member_id: str, decision: str
) -> httpx.Response:
    return await client.post(
        f"/v1/members/{member_id}/curp-review", json={"decision": decision}, headers=bearer(tokens)
    )


async def test_a_curp_on_file_is_accepted_for_review_and_the_applicant_learns_nothing(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    first, _ = await active_member(client, admin, full_name="Rosa Martínez", curp=CURP)
    _, fresh_tokens = await signed_up(client)
    fresh = await apply(client, fresh_tokens, full_name="Ana Pérez", curp="HEGG560427MVZRRL04")
    _, tokens = await signed_up(client, display_name="Otra Persona")
    second = await apply(client, tokens, full_name="Otra Persona", curp=CURP.lower())

    # the same answer as any application: nothing about Rosa, no flag
    assert _as_seen(second) == {**_as_seen(fresh), "curp": CURP}
    assert second["needs_review"] is None
    mine = await client.get(f"/v1/members/{second['id']}", headers=bearer(tokens))
    export = await client.get("/v1/me/export", headers=bearer(tokens))
    for body in (mine.text, export.text, str(second)):
        assert first["id"] not in body
        assert "Rosa" not in body
        assert "curp-on-file" not in body
        assert "curp_pending" not in body
    assert mine.json()["curp"] == CURP and export.json()["membership"]["curp"] == CURP

    # admins see the flag and the membership holding the CURP
    seen = (await client.get(f"/v1/members/{second['id']}", headers=bearer(admin))).json()
    assert (seen["needs_review"], seen["curp_on_file_with"]) == ("curp-on-file", first["id"])
    waiting = await client.get("/v1/members?needs_review=true", headers=bearer(admin))
    assert [m["id"] for m in waiting.json()["items"]] == [second["id"]]
    own_filter = await client.get("/v1/members?needs_review=true", headers=bearer(tokens))
    assert [m["needs_review"] for m in own_filter.json()["items"]] == [None]


async def test_it_cannot_be_approved_until_an_admin_decides_who_holds_it(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    first, first_tokens = await active_member(client, admin, curp=CURP)
    _, tokens = await signed_up(client)
    second = await apply(client, tokens, curp=CURP)

    refused = await decide(client, admin, second["id"])
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/curp-needs-review")
    assert (await _review(client, tokens, second["id"], "holder")).status_code == 404

    # the admin checked the documents: the CURP was not theirs
    reviewed = await _review(client, admin, second["id"], "not-holder")
    assert reviewed.status_code == 200
    assert (reviewed.json()["curp"], reviewed.json()["needs_review"]) == (None, None)
    again = await _review(client, admin, second["id"], "not-holder")
    assert again.status_code == 409
    assert again.json()["type"].endswith("/no-curp-to-review")
    approved = await decide(client, admin, second["id"])
    assert approved.status_code == 200
    first_now = await client.get(f"/v1/members/{first['id']}", headers=bearer(first_tokens))
    assert first_now.json()["curp"] == CURP


async def test_the_true_holder_takes_the_curp_from_a_squatter(
    client: httpx.AsyncClient, admin: Tokens
) -> None:
    """The first applicant gave someone else's CURP and was approved; the real holder applies."""
    squatter, squatter_tokens = await active_member(client, admin, curp=CURP)
    _, tokens = await signed_up(client)
    holder = await apply(client, tokens, curp=CURP)

    reviewed = await _review(client, admin, holder["id"], "holder")
    assert (reviewed.json()["curp"], reviewed.json()["needs_review"]) == (CURP, None)
    approved = await decide(client, admin, holder["id"])
    assert approved.json()["status"] == "active"
    squatter_now = await client.get(
        f"/v1/members/{squatter['id']}", headers=bearer(squatter_tokens)
    )
    assert squatter_now.json()["curp"] is None
    active = (await client.get("/v1/members?status=active", headers=bearer(admin))).json()
    assert [m["id"] for m in active["items"] if m["curp"] == CURP] == [holder["id"]]
