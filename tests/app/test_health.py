"""Liveness, readiness, and readiness failing when the database does not answer."""

import httpx

from app.main import create_app
from tests.conftest import make_settings


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz/live")).json() == {"status": "ok"}
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_not_ready_when_the_database_does_not_answer() -> None:
    for url in (
        "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "sqlite+aiosqlite:////nonexistent-dir/for/tequio.db",
    ):
        app = create_app(make_settings(url))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            live = await client.get("/healthz/live")
            ready = await client.get("/healthz/ready", headers={"Accept-Language": "en"})
        await app.state.engine.dispose()
        assert live.status_code == 200
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["type"].endswith("/not-ready")
