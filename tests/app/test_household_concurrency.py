"""Concurrent answers to household invitations, with requests that commit for real."""

import asyncio
from collections.abc import Callable

import httpx

from app.db import create_sessionmaker
from cooperative.kernel.principal import Role
from tests.app.test_household_invitations import _accept, _invitations, _invite, _member
from tests.conftest import Database
from tests.factories import (
    account_with_role,
    active_member,
    bearer,
    household,
    install_bylaws,
    login,
)


async def test_concurrent_accepts_of_two_invitations_end_in_one_household(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    homes = []
    for name in ("Familia García", "Familia López"):
        _, inviter = await active_member(client, admin)
        homes.append((inviter, await household(client, inviter, name=name)))
    lupe, lupe_tokens = await active_member(client, admin)
    for inviter, home in homes:
        await _invite(client, inviter, home, lupe)
    invitations = await _invitations(client, lupe_tokens)

    responses = await asyncio.gather(
        *(_accept(client, lupe_tokens, invitation["id"]) for invitation in invitations)
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert (await _member(client, lupe_tokens, lupe["id"]))["household_id"] == winner["id"]
    covering = [
        home["id"]
        for inviter, home in homes
        if lupe["id"]
        in (await client.get(f"/v1/households/{home['id']}", headers=bearer(inviter))).json()[
            "member_ids"
        ]
    ]
    assert covering == [winner["id"]]
