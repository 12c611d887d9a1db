"""Races on a referral, with requests that commit for real: two endocrinologists accepting one
referral (one has it, the history holds one acceptance); two referrals linking one consult (one
has it, the other is told so, never a 500); the note signed while the specialist completes the
referral by hand (completed once, with the signed note)."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_sessionmaker
from cooperative.kernel.principal import Role
from tests.app.test_referrals import act, booked_with_ana, make_loop, refer
from tests.app.test_referrals_counter import scheduled
from tests.conftest import Database
from tests.factories import account_with_role, bearer, install_bylaws, login
from tests.records_support import COMPLETE


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


async def _committed_loop(
    client: httpx.AsyncClient, database: Database
) -> tuple[dict[str, Any], async_sessionmaker[AsyncSession]]:
    committed = create_sessionmaker(database.engine)
    await install_bylaws(committed)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin = await login(client, await account_with_role(committed, settings, Role.ADMIN))
    return await make_loop(client, admin, committed, settings), committed


async def test_two_referrals_linking_one_consult_at_once_one_has_it(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    loop, _committed = await _committed_loop(client, database)
    nurse = loop["nurse"]
    first, second = await refer(client, loop), await refer(client, loop)
    for referral in (first, second):
        assert (await act(client, referral, "accept", loop["ana"]["tokens"])).status_code == 200
    appointment = await booked_with_ana(client, loop)
    answers = await asyncio.gather(
        act(client, first, "schedule", nurse, appointment_id=appointment),
        act(client, second, "schedule", nurse, appointment_id=appointment),
    )
    # the other is told the consult is another referral's (never a 500)
    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    [lost] = [a for a in answers if a.status_code == 422]
    assert lost.json()["type"].endswith("/not-the-referrals-consult")
    states = [
        (await client.get(f"/v1/referrals/{r['id']}", headers=bearer(nurse))).json()["state"]
        for r in (first, second)
    ]
    assert sorted(states) == ["accepted", "scheduled"]


async def test_signing_the_note_while_the_specialist_completes_by_hand_completes_it_once(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with()
    loop, committed = await _committed_loop(client, database)
    ana = loop["ana"]["tokens"]
    referral, appointment = await scheduled(
        client, loop, committed, starts_in=-timedelta(minutes=5)
    )
    path = f"/v1/appointments/{appointment}/note"
    saved = await client.put(path, json={"version": 0, **COMPLETE}, headers=bearer(ana))
    assert saved.status_code == 200, saved.text
    signed, by_hand = await asyncio.gather(
        client.post(f"{path}/sign", json={"version": saved.json()["version"]}, headers=bearer(ana)),
        act(client, referral, "complete", ana),
    )
    assert signed.status_code == 200, signed.text
    # by hand: done (before or after the signing), not signed yet, or moved on meanwhile
    assert by_hand.status_code in (200, 409), by_hand.text
    seen = await client.get(f"/v1/referrals/{referral['id']}", headers=bearer(loop["nurse"]))
    assert seen.json()["state"] == "completed"
    assert [e["state"] for e in seen.json()["history"]].count("completed") == 1
    assert (
        seen.json()["counter_referral"]["note"]["signature"]["digest"]
        == (signed.json()["signature"]["digest"])
    )
