"""Two endocrinologists accept one referral at the same moment, with requests that commit for
real: one has it, the other does not, and the history holds one acceptance."""

import asyncio
from collections.abc import Callable

import httpx

from app.db import create_sessionmaker
from cooperative.kernel.principal import Role
from tests.app.test_referrals import act, make_loop, refer
from tests.conftest import Database
from tests.factories import account_with_role, bearer, install_bylaws, login


async def test_two_specialists_accepting_at_once_one_has_it(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    loop = await make_loop(client, admin, committed, settings)
    for _ in range(3):
        referral = await refer(client, loop)
        answers = await asyncio.gather(
            act(client, referral, "accept", loop["ana"]["tokens"]),
            act(client, referral, "accept", loop["beto"]["tokens"]),
        )
        # the other is told it moved on (409), or, when its request came after the first one's
        # commit (SQLite takes writers one at a time), no longer sees it: it is Ana's or Beto's
        assert sorted(a.status_code for a in answers) in ([200, 404], [200, 409]), [
            a.text for a in answers
        ]
        [won] = [a for a in answers if a.status_code == 200]
        seen = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["nurse"]))
        assert seen.json()["practitioner_id"] == won.json()["practitioner_id"]
        assert [e["state"] for e in seen.json()["history"]] == ["sent", "accepted"]
