"""Two `tequio serve` workers and Redis: one member's quota is one count, whichever worker
answers, and past it every worker refuses.

The two workers are two server processes on two ports, as behind a load balancer, so that the
test decides which worker takes each request (uvicorn's own workers share one socket, and which
of them accepts a connection is the kernel's choice: under load, often the same one)."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from app.db import create_sessionmaker
from tests.app.test_consults_redis import REDIS, redis_or_skip
from tests.conftest import Database, _empty_tables
from tests.factories import OUTBOXES, bearer, login, sign_up
from tests.live_server import Server, environment, serving

QUOTA = 24
WINDOW = 600


@pytest.fixture
async def two_workers(database: Database, tmp_path: Path) -> AsyncIterator[list[Server]]:
    redis_or_skip()
    env = environment(
        database.url,
        redis_url=REDIS,
        rate_limit_member=str(QUOTA),
        rate_limit_window_seconds=str(WINDOW),
        log_level="WARNING",
    )
    try:
        with contextlib.ExitStack() as stack:
            servers = []
            for name in ("first", "second"):
                (tmp_path / name).mkdir()
                servers.append(stack.enter_context(serving(env, tmp_path / name)))
                OUTBOXES[f"127.0.0.1:{servers[-1].port}"] = create_sessionmaker(database.engine)
            yield servers
    finally:
        await _empty_tables(database.engine)


async def _counting_workers(servers: list[Server]) -> set[int]:
    """The servers' processes holding a connection to Redis for the rate limits (each names
    its connections `tequio-limits-<pid>`)."""
    redis = Redis.from_url(REDIS)
    try:
        clients = await redis.client_list()
    finally:
        await redis.aclose()
    named = {str(c.get("name", "")) for c in clients}
    pids = {int(name.rsplit("-", 1)[1]) for name in named if name.startswith("tequio-limits-")}
    return pids & {server.process.pid for server in servers}


@pytest.mark.slow
@pytest.mark.postgresql_only
async def test_two_workers_share_one_count_through_redis(two_workers: list[Server]) -> None:
    first, second = (server.base for server in two_workers)
    async with httpx.AsyncClient(base_url=first, timeout=10) as client:
        tokens = await login(client, await sign_up(client))
    left = []
    for turn in range(QUOTA):
        async with httpx.AsyncClient(base_url=(first, second)[turn % 2], timeout=10) as client:
            answer = await client.get("/v1/me", headers=bearer(tokens))
        assert answer.status_code == 200, answer.text
        assert answer.headers["ratelimit-policy"] == f'"member";q={QUOTA};w={WINDOW}'
        left.append(answer.headers["ratelimit"].split(";")[1])
    # one count: down by one each time, on either worker
    assert left == [f"r={n}" for n in range(QUOTA - 1, -1, -1)]
    assert len(await _counting_workers(two_workers)) == 2  # both counted in Redis

    for base in (first, second):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            refused = await client.get(
                "/v1/me", headers={**bearer(tokens), "Accept-Language": "en"}
            )
        assert refused.status_code == 429
        assert refused.json()["type"].endswith("/too-many-requests")
        assert 1 <= int(refused.headers["retry-after"]) <= WINDOW

    # another member is not held back by the first one's burst
    async with httpx.AsyncClient(base_url=second, timeout=10) as client:
        other = await login(client, await sign_up(client))
        answer = await client.get("/v1/me", headers=bearer(other))
    assert answer.status_code == 200
    assert answer.headers["ratelimit"].startswith(f'"member";r={QUOTA - 1};')
    assert uuid.UUID(answer.json()["id"])
