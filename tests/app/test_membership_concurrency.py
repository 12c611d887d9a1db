"""Concurrent decisions on one membership: one wins, the others are told why."""

import asyncio
from collections.abc import Callable

import httpx

from app.db import create_sessionmaker
from cooperative.kernel.principal import Role
from tests.conftest import Database
from tests.factories import account_with_role, apply, bearer, install_bylaws, login, signed_up


async def test_concurrent_approve_and_reject_decide_once(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    _, tokens = await signed_up(client)
    member = await apply(client, tokens, share_instalments=10)
    responses = await asyncio.gather(
        client.post(f"/v1/members/{member['id']}/approve", headers=bearer(admin)),
        client.post(f"/v1/members/{member['id']}/approve", headers=bearer(admin)),
        client.post(
            f"/v1/members/{member['id']}/reject", json={"reason": "x"}, headers=bearer(admin)
        ),
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409]
    final = (await client.get(f"/v1/members/{member['id']}", headers=bearer(tokens))).json()
    shares = (await client.get("/v1/dues?kind=share", headers=bearer(tokens))).json()["items"]
    assert len(shares) == (10 if final["status"] == "active" else 0)


async def test_concurrent_applications_with_one_curp_both_wait_and_one_holds_it(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """Two people apply at once with the same CURP: both are accepted alike, the CURP is on one
    membership only, and the other application waits for an admin's review."""
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    applicants = [(await signed_up(client))[1] for _ in range(3)]
    body = {"member_class": "patient", "full_name": "Rosa", "curp": "BOXW310820HNERXN09"}
    responses = await asyncio.gather(
        *(client.post("/v1/members", json=body, headers=bearer(t)) for t in applicants)
    )
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert {r.json()["needs_review"] for r in responses} == {None}
    seen = (await client.get("/v1/members", headers=bearer(admin))).json()["items"]
    assert sorted(str(m["needs_review"]) for m in seen) == ["None", "curp-on-file", "curp-on-file"]
    holder = next(m for m in seen if m["needs_review"] is None)
    assert {m["curp_on_file_with"] for m in seen if m["needs_review"]} == {holder["id"]}
