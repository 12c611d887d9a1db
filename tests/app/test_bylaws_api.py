"""The bylaws as versioned data: install once, read in force, read any version."""

import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from tests.factories import admin_tokens, bearer, signed_up


async def test_before_install_there_are_no_bylaws_in_force(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/bylaws", headers={"Accept-Language": "es"})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/bylaws-not-installed")


async def test_an_admin_installs_the_default_once_and_anyone_reads_it(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    _, patient = await signed_up(client)
    refused = await client.post("/v1/bylaws/versions", json={}, headers=bearer(patient))
    assert refused.status_code == 403

    admin = await admin_tokens(client, sessionmaker, settings)
    installed = await client.post("/v1/bylaws/versions", json={}, headers=bearer(admin))
    assert installed.status_code == 201
    assert installed.json()["number"] == 1
    assert installed.json()["adopted_by"] == "install"

    again = await client.post("/v1/bylaws/versions", json={}, headers=bearer(admin))
    assert again.status_code == 409
    assert again.json()["type"].endswith("/bylaws-already-installed")

    current = (await client.get("/v1/bylaws")).json()
    assert current["number"] == 1
    document = current["document"]
    assert set(document["member_classes"]) == {"patient", "doctor"}
    assert document["sliding_scale"]["classes"][0]["max_percent"] == 100
    assert document["poverty_lines"]["us"][0]["regions"]["48"]["first_person"] == 15960
    assert (await client.get("/v1/bylaws/versions/1")).json()["digest"] == current["digest"]
    assert (await client.get("/v1/bylaws/versions/7")).status_code == 404


async def test_an_invalid_document_is_refused(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    admin = await admin_tokens(client, sessionmaker, settings)
    document = default_bylaws().model_dump(mode="json")
    document["surplus"]["class_split_bp"] = {"patient": 6000, "doctor": 6000}
    response = await client.post(
        "/v1/bylaws/versions", json={"document": document}, headers=bearer(admin)
    )
    assert response.status_code == 422
    assert (await client.get("/v1/bylaws")).status_code == 409  # nothing was installed


async def test_an_adopted_amendment_takes_effect_on_its_date_and_old_versions_stay(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        await bylaws_service.install(session, default_bylaws(), account_id=None)
        amended = default_bylaws().model_copy(update={"title": "Amended bylaws"})
        await bylaws_service.adopt(
            session,
            amended,
            proposal_id=uuid.uuid4(),
            effective_from=clock.now() + timedelta(days=30),
        )
        await session.commit()
    current = (await client.get("/v1/bylaws")).json()
    assert current["number"] == 1  # the amendment is not in force yet
    versions = (await client.get("/v1/bylaws/versions")).json()["items"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["adopted_by"] == "governance"
    second = (await client.get("/v1/bylaws/versions/2")).json()
    assert second["document"]["title"] == "Amended bylaws"


async def test_absurd_version_numbers_and_cursors_are_4xx(client: httpx.AsyncClient) -> None:
    for number in ("99999999999999999999", "2147483648", "0", "-1"):
        response = await client.get(f"/v1/bylaws/versions/{number}")
        assert response.status_code == 422, number
    for cursor in (
        "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwgIjEiXQ",
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIjk5OTk5OTk5OTk5OTk5Il0",
    ):
        response = await client.get(f"/v1/bylaws/versions?cursor={cursor}")
        assert response.status_code == 400, cursor
