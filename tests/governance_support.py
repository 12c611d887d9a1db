"""Helpers for governance tests: bylaws with chosen governance figures, owners of both classes,
and the steps of a vote through the API."""

import copy
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.bylaws.schema import Bylaws
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from tests.factories import account_with_role, active_member, apply, bearer, decide, login


def bylaws_with(**governance: Any) -> Bylaws:
    """The default bylaws with some governance figures changed (`rules` merged per kind)."""
    document = default_bylaws().model_dump(mode="json")
    rules = governance.pop("rules", {})
    document["governance"].update(governance)
    for kind, changes in rules.items():
        document["governance"]["rules"][kind] = {
            **document["governance"]["rules"].get(kind, {}),
            **changes,
        }
    return Bylaws.model_validate(document)


async def install(sessionmaker: async_sessionmaker[AsyncSession], document: Bylaws) -> None:
    async with sessionmaker() as session:
        await bylaws_service.install(session, document, account_id=None)
        await session.commit()


async def patient_owner(client: httpx.AsyncClient, admin: dict[str, Any]) -> dict[str, Any]:
    """Tokens of an approved patient-owner, with their member record under `member`."""
    member, tokens = await active_member(client, admin)
    return {**tokens, "member": member}


async def doctor_owner(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    tokens = await login(client, await account_with_role(sessionmaker, settings, Role.DOCTOR))
    member = await apply(client, tokens, member_class="doctor", full_name="Dra. Elena Ruiz")
    approved = await decide(client, admin, member["id"])
    assert approved.status_code == 200, approved.text
    return {**tokens, "member": approved.json()}


async def propose(
    client: httpx.AsyncClient, tokens: dict[str, Any], kind: str = "resolution", **fields: Any
) -> dict[str, Any]:
    body = {"kind": kind, "title": "Abrir una clínica en Tlaxiaco", "body": "¿Sí o no?", **fields}
    response = await client.post("/v1/proposals", json=body, headers=bearer(tokens))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def open_vote(
    client: httpx.AsyncClient,
    tokens: dict[str, Any],
    proposal_id: str,
    *,
    closes_in: timedelta = timedelta(hours=2),
    closes_at: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    closes_at = closes_at or clock.now() + closes_in
    body = {"closes_at": closes_at.isoformat(), **fields}
    response = await client.post(
        f"/v1/proposals/{proposal_id}/open", json=body, headers=bearer(tokens)
    )
    assert response.status_code == 200, response.text
    opened: dict[str, Any] = response.json()
    return opened


async def vote(
    client: httpx.AsyncClient, tokens: dict[str, Any], proposal_id: str, **ballot: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/proposals/{proposal_id}/ballots", json=ballot, headers=bearer(tokens)
    )


async def close(
    client: httpx.AsyncClient, tokens: dict[str, Any], proposal_id: str
) -> dict[str, Any]:
    response = await client.post(f"/v1/proposals/{proposal_id}/close", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    closed: dict[str, Any] = response.json()
    return closed


async def result(
    client: httpx.AsyncClient, tokens: dict[str, Any], proposal_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/proposals/{proposal_id}/result", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def amended(document: Bylaws, **dues_a: Any) -> dict[str, Any]:
    """`document` as JSON with fee class A's dues changed."""
    data = copy.deepcopy(document.model_dump(mode="json"))
    data["sliding_scale"]["classes"][0]["dues"].update(dues_a)
    return data
