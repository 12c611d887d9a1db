"""What crosses a slow link: answers compressed when the client accepts it (Brotli, gzip),
photos and sockets untouched, and a page of slots that names each doctor once."""

import gzip
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.conftest import Database
from tests.consult_support import consult_soon, join_consult, next_of_type
from tests.factories import bearer, open_slots, practitioner, signed_up


async def _raw(client: httpx.AsyncClient, path: str, encoding: str | None) -> httpx.Response:
    """The answer as it crossed the wire (`content` still compressed)."""
    headers = {"Accept-Encoding": encoding or "identity"}
    async with client.stream("GET", path, headers=headers) as response:
        response._content = b"".join([part async for part in response.aiter_raw()])
    return response


BUNDLE = "/static/swagger-ui/swagger-ui-bundle.js"  # 1.7 MB of the docs page's 2.3


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", BUNDLE])
async def test_docs_come_compressed_to_a_client_that_accepts_it(
    client: httpx.AsyncClient, path: str
) -> None:
    plain = await _raw(client, path, None)
    assert "content-encoding" not in plain.headers
    squeezed = await _raw(client, path, "gzip")
    assert squeezed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(squeezed.content) == plain.content
    assert "accept-encoding" in squeezed.headers["vary"].lower()
    best = await _raw(client, path, "gzip, deflate, br")
    assert best.headers["content-encoding"] == "br"
    assert brotli.decompress(best.content) == plain.content
    assert len(best.content) < len(plain.content) / 2


@pytest.mark.usefixtures("bylaws_installed")
async def test_a_page_of_slots_names_each_doctor_once(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    ana, _ = await practitioner(client, admin, sessionmaker, settings)
    luis, _ = await practitioner(client, admin, sessionmaker, settings)
    _, rosa = await signed_up(client)
    since = (clock.today() + timedelta(days=2)).isoformat()
    response = await client.get(
        "/v1/slots", params={"from": since, "limit": 50}, headers=bearer(rosa)
    )
    page = response.json()
    assert len(page["items"]) == 50
    assert set(page["practitioners"]) == {ana["id"], luis["id"]}
    assert {slot["practitioner_id"] for slot in page["items"]} == {ana["id"], luis["id"]}
    assert page["practitioners"][ana["id"]]["display_name"] == ana["display_name"]
    # the doctor's name crosses the wire once, however many of her slots the page holds
    assert response.text.count(json.dumps(ana["display_name"])[1:-1]) == 1
    assert "practitioner" not in page["items"][0]
    # the helper the other tests use still finds each doctor's slots
    listed = await open_slots(client, rosa)
    assert all(s["practitioner_id"] in page["practitioners"] for s in listed)


async def test_a_signaling_socket_works_for_a_client_that_accepts_compression(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    """httpx asks for gzip, br and zstd on every request here; the socket's upgrade carries the
    same header and must still open and carry messages."""
    from websockets.asyncio.client import connect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    token = (await join_consult(http, consult, "doctor"))["consult_token"]
    async with connect(
        f"ws://{host}/v1/consults/{consult['id']}/signal?token={token}",
        additional_headers={"Accept-Encoding": "gzip, br"},
    ) as socket:
        assert (await next_of_type(socket, "welcome"))["admitted"] is True
    large = await http.get("/openapi.json", headers={"Accept-Encoding": "br"})
    assert large.headers["content-encoding"] == "br" and large.json()["openapi"].startswith("3.1")
