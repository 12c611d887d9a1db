"""Rate limits per member, app and address: every counted answer says the quota and what is
left of it (IETF RateLimit-Policy / RateLimit), and past it a 429 problem with Retry-After,
before anything of the request is done. These apps keep their counters in memory; the
counters every worker shares (Redis) are tested in test_rate_limits_redis.py."""

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt
from limits import RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.ratelimits import SweptMemoryStorage
from cooperative.kernel import clock
from tests.conftest import Database, make_settings
from tests.factories import bearer, login, sign_up

WINDOW = 3600
FIELD = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')

Clients = Callable[..., Callable[[str], httpx.AsyncClient]]


@pytest.fixture(autouse=True)
def _clear_of_a_window_edge() -> None:
    """Counters kept in memory count in windows that start on the clock's multiples of the
    window; where two windows meet, the count of the one ending starts to fade (by design),
    so a test that counts down exactly must not straddle that moment. The clock is the host's:
    `limits` keeps its windows by it and takes no other (so does app.ratelimits' Retry-After);
    the cooperative's clock, which tests may set to any date, would miss the edge."""
    left = WINDOW - time.time() % WINDOW
    if left < 20:
        time.sleep(left + 0.1)


@pytest.fixture
async def app_with(
    database: Database, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Clients]:
    """An app with some rate limits changed (the others generous, as in every test), and a
    maker of its clients, each at its own client address."""
    clients: list[httpx.AsyncClient] = []

    def make(**overrides: Any) -> Callable[[str], httpx.AsyncClient]:
        settings = make_settings(database.url, rate_limit_window_seconds=WINDOW, **overrides)
        app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)

        def at(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            client = httpx.AsyncClient(transport=transport, base_url="http://tequio.test")
            clients.append(client)
            return client

        return at

    yield make
    for client in clients:
        await client.aclose()


def _left(response: httpx.Response) -> tuple[str, int, int]:
    """The policy, the requests left and the seconds of the `RateLimit` field."""
    found = FIELD.match(response.headers["ratelimit"])
    assert found, response.headers["ratelimit"]
    return found["name"], int(found["r"]), int(found["t"])


async def _member(client: httpx.AsyncClient) -> dict[str, Any]:
    """A verified patient's tokens, got through sign-up and sign-in alone (counted by address,
    not against the member)."""
    return await login(client, await sign_up(client))


async def test_every_counted_answer_says_the_quota_and_what_is_left(app_with: Clients) -> None:
    client = app_with(rate_limit_anonymous=5)("198.51.100.10")
    seen = []
    for _ in range(3):
        response = await client.get("/")
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == f'"anonymous";q=5;w={WINDOW}'
        name, left, seconds = _left(response)
        assert name == "anonymous" and 0 < seconds <= WINDOW
        seen.append(left)
    assert seen == [4, 3, 2]
    # a problem answer is counted and says so too
    missing = await client.get(f"/v1/appointments/{uuid.uuid4()}")
    assert missing.status_code == 401 and _left(missing)[1] == 1
    # health checks and the docs' files are neither counted nor marked
    for path in ("/healthz/live", "/healthz/ready", "/static/swagger-ui/favicon-32x32.png"):
        free = await client.get(path)
        assert free.status_code == 200 and "ratelimit" not in free.headers, path
    assert _left(await client.get("/"))[1] == 0


@pytest.mark.usefixtures("bylaws_installed")
async def test_past_its_quota_a_member_gets_a_429_problem_and_nothing_is_done(
    app_with: Clients,
) -> None:
    client = app_with(rate_limit_member=3)("198.51.100.11")
    tokens = await _member(client)
    seen = [_left(await client.get("/v1/me", headers=bearer(tokens))) for _ in range(3)]
    assert [(name, left) for name, left, _ in seen] == [("member", 2), ("member", 1), ("member", 0)]

    application = {"member_class": "patient", "full_name": "Rosa Ruiz López"}
    refused = {
        language: await client.post(
            "/v1/members", json=application, headers={**bearer(tokens), "Accept-Language": language}
        )
        for language in ("en", "es")
    }
    for response in refused.values():
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "https://tequio.coop/problems/too-many-requests"
        assert problem["violated-policies"] == ["member"]
        wait = int(response.headers["retry-after"])
        assert 1 <= wait <= WINDOW
        assert response.headers["ratelimit-policy"] == f'"member";q=3;w={WINDOW}'
        assert _left(response) == ("member", 0, wait)  # no sooner than Retry-After says
        assert response.headers["x-request-id"]
    assert refused["en"].json()["title"] == "Too many requests"
    assert refused["en"].json()["detail"].startswith(f"More than 3 requests in {WINDOW} seconds.")
    assert refused["es"].json()["title"] == "Demasiadas solicitudes"
    assert refused["es"].json()["detail"].startswith(f"Más de 3 solicitudes en {WINDOW} segundos.")
    assert "Intente de nuevo en" in refused["es"].json()["detail"]

    # through an app whose counters are not spent: no application was made, so this one is
    # the first (a second would be refused as a duplicate), and the only one
    roomy = app_with()("198.51.100.11")
    assert (await roomy.get("/v1/members", headers=bearer(tokens))).json()["items"] == []
    applied = await roomy.post("/v1/members", json=application, headers=bearer(tokens))
    assert applied.status_code == 201, applied.text
    assert len((await roomy.get("/v1/members", headers=bearer(tokens))).json()["items"]) == 1


async def test_each_member_has_a_quota_of_their_own(app_with: Clients) -> None:
    client = app_with(rate_limit_member=2)("198.51.100.12")
    rosa, juan = await _member(client), await _member(client)
    for _ in range(2):
        assert (await client.get("/v1/me", headers=bearer(rosa))).status_code == 200
    assert (await client.get("/v1/me", headers=bearer(rosa))).status_code == 429
    # from the same address, Juan's requests are his own
    answered = await client.get("/v1/me", headers=bearer(juan))
    assert answered.status_code == 200 and _left(answered)[:2] == ("member", 1)
    # and the address's quota was never touched by either
    assert _left(await client.get("/"))[0] == "anonymous"


async def test_callers_without_a_token_are_counted_per_address(app_with: Clients) -> None:
    at = app_with(rate_limit_anonymous=2)
    clinic, elsewhere = at("198.51.100.13"), at("198.51.100.14")
    assert [_left(await clinic.get("/"))[1] for _ in range(2)] == [1, 0]
    refused = await clinic.post("/v1/auth/token", json={"username": "x@example.org"})
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert (await elsewhere.get("/")).status_code == 200
    # a token that is not valid is no way around it: counted by address, answered 401 below
    forged = await clinic.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 429 and _left(forged)[0] == "anonymous"


def _app_token(app: FastAPI, client_id: str, **claims: Any) -> str:
    """An access token as those issued to an app carry it: its `client_id` (RFC 9068)."""
    tokens = app.state.tokens
    now = int(clock.now().timestamp())
    body = {
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "scope": "me",
        "client_id": client_id,
        **claims,
    }
    token: str = jwt.encode(body, tokens.signing_key, algorithm=tokens.algorithm)
    return token


async def test_an_app_is_counted_by_its_client_id(app_with: Clients) -> None:
    client = app_with(rate_limit_app=3)("198.51.100.15")
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]
    clinic_records = str(uuid.uuid4())
    clinic_system = _app_token(app, clinic_records)
    same_app_other_user = _app_token(app, clinic_records)

    first = await client.get("/", headers={"Authorization": f"Bearer {clinic_system}"})
    assert first.headers["ratelimit-policy"] == f'"app";q=3;w={WINDOW}'
    assert _left(first)[:2] == ("app", 2)
    # all of an app's users count against the app
    other = await client.get("/", headers={"Authorization": f"Bearer {same_app_other_user}"})
    assert _left(other)[:2] == ("app", 1)
    another_app = _app_token(app, str(uuid.uuid4()))
    elsewhere = await client.get("/", headers={"Authorization": f"Bearer {another_app}"})
    assert _left(elsewhere)[:2] == ("app", 2)


async def test_a_member_not_yet_verified_has_the_tighter_quota(app_with: Clients) -> None:
    client = app_with(rate_limit_member=5, rate_limit_unverified=2)("198.51.100.19")
    waiting = await login(client, await sign_up(client, verify=False))
    first = await client.get("/v1/me", headers=bearer(waiting))
    assert first.status_code == 200, first.text
    assert first.headers["ratelimit-policy"] == f'"unverified";q=2;w={WINDOW}'
    await client.get("/v1/me", headers=bearer(waiting))
    refused = await client.get("/v1/me", headers=bearer(waiting))
    assert refused.status_code == 429 and refused.json()["violated-policies"] == ["unverified"]

    verified = await login(client, await sign_up(client))
    answer = await client.get("/v1/me", headers=bearer(verified))
    assert answer.status_code == 200 and _left(answer)[:2] == ("member", 4)


async def test_a_burst_at_once_gets_exactly_its_quota(app_with: Clients) -> None:
    client = app_with(rate_limit_anonymous=10)("198.51.100.16")
    answers = await asyncio.gather(*(client.get("/") for _ in range(25)))
    assert sorted(response.status_code for response in answers) == [200] * 10 + [429] * 15


async def test_with_redis_away_requests_are_served_uncounted_and_it_is_logged_once(
    app_with: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    # nothing listens on port 1: every connection is refused at once
    client = app_with(redis_url="redis://127.0.0.1:1/0", rate_limit_anonymous=1)("198.51.100.17")
    with caplog.at_level(logging.WARNING, logger="tequio.ratelimits"):
        answers = [await client.get("/") for _ in range(3)]
    assert [response.status_code for response in answers] == [200, 200, 200]
    assert all("ratelimit" not in response.headers for response in answers)
    warnings = [r.getMessage() for r in caplog.records if r.name == "tequio.ratelimits"]
    assert len(warnings) == 1 and "served uncounted" in warnings[0]
    assert "127.0.0.1" not in warnings[0]


async def test_rate_limits_can_be_left_to_a_proxy_in_front(app_with: Clients) -> None:
    client = app_with(rate_limit_enabled=False, rate_limit_anonymous=1)("198.51.100.18")
    answers = [await client.get("/") for _ in range(3)]
    assert {response.status_code for response in answers} == {200}
    assert all("ratelimit" not in response.headers for response in answers)


async def test_the_docs_say_any_operation_may_be_rate_limited(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            limited = operation["responses"].get("429")
            if path.startswith("/healthz/"):
                assert limited is None, path
                continue
            assert limited is not None, (path, method)
            assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= limited["headers"].keys()
            examples = limited["content"]["application/problem+json"]["examples"]
            assert "too-many-requests" in examples, (path, method)


async def test_a_count_in_memory_does_not_sweep_every_callers_counter() -> None:
    """Without Redis a count costs the same with 2,000 callers in the window as with one: the
    library's sweep of expired counters (every counter it holds, started again after nearly
    every count) runs at most once a `SWEEP_SECONDS`, and still frees what has expired."""
    storage = SweptMemoryStorage()
    storage.SWEEP_SECONDS = 3600
    limiter = SlidingWindowCounterRateLimiter(storage)
    quota = RateLimitItemPerMinute(100)
    for n in range(2000):
        await limiter.hit(quota, f"caller-{n}")
    sweeps = 0
    sweep = storage._MemoryStorage__expire_events  # type: ignore[attr-defined]

    async def counted() -> None:
        nonlocal sweeps
        sweeps += 1
        await sweep()

    storage._MemoryStorage__expire_events = counted  # type: ignore[attr-defined]
    for n in range(500):
        await limiter.hit(quota, f"caller-{n}")
        await asyncio.sleep(0)  # a sweep started meanwhile runs and finishes
    assert sweeps == 0  # (the library's own started once per count: 500 here)
    assert (await limiter.get_window_stats(quota, "caller-0")).remaining == 98

    for key in storage.expirations:  # every counter's window over
        storage.expirations[key] = 0
    storage.SWEEP_SECONDS = 0
    await limiter.hit(quota, "caller-new")
    for _ in range(5):
        await asyncio.sleep(0)
    assert sweeps == 1
    assert storage.storage and all("caller-new" in key for key in storage.storage)
