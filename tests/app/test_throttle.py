"""Repeated failed sign-ins slow down, per account and per client address."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from cooperative.kernel import clock
from tests.conftest import Database, make_settings
from tests.factories import PASSWORD, register, unique_email

ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture(autouse=True)
def advance() -> Iterator[Callable[[float], None]]:
    """Time stands still in these tests until a test moves it: on a loaded machine seconds pass
    between two requests, and a one-second back-off would run out by itself."""
    moment = clock.now()
    with contextlib.ExitStack() as stack:
        stack.enter_context(clock.travel(moment, frozen=True))

        def later(seconds: float) -> None:
            nonlocal moment
            moment += timedelta(seconds=seconds)
            stack.enter_context(clock.travel(moment, frozen=True))

        yield later


@pytest.fixture
async def client_with(
    database: Database, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[ClientFactory]:
    """Clients of an app built with some settings changed, each with its own client address."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str = "198.51.100.1", **overrides: Any) -> httpx.AsyncClient:
        settings = make_settings(database.url, **overrides)
        app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://tequio.test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def _attempt(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token",
        json={"username": username, "password": password},
        headers={"Accept-Language": "es"},
    )


async def test_account_is_slowed_after_repeated_failures_then_recovers(
    client_with: ClientFactory, advance: Callable[[float], None]
) -> None:
    client = client_with(login_free_attempts=3, login_backoff_base_seconds=1)
    account = await register(client)
    for _ in range(3):
        assert (await _attempt(client, account["email"], "wrong password!")).status_code == 401

    locked = await _attempt(client, account["email"], PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert locked.json()["type"].endswith("/too-many-attempts")
    assert locked.headers["retry-after"] == "1"
    assert "Intente de nuevo en 1 segundo." in locked.json()["detail"]  # one second, singular

    # from another address the patient still gets in: guessing from one place cannot lock
    # the patient out everywhere
    elsewhere = client_with(address="198.51.100.99", login_free_attempts=3)
    assert (await _attempt(elsewhere, account["email"], PASSWORD)).status_code == 200

    advance(1.1)
    assert (await _attempt(client, account["email"], PASSWORD)).status_code == 200


async def test_guesses_from_many_addresses_still_slow_the_account_down(
    client_with: ClientFactory,
) -> None:
    first = client_with(address="198.51.100.1", login_account_free_attempts=4)
    account = await register(first)
    for n in range(4):
        guesser = client_with(address=f"198.51.100.{10 + n}", login_account_free_attempts=4)
        assert (await _attempt(guesser, account["email"], "wrong password!")).status_code == 401
    another = client_with(address="198.51.100.77", login_account_free_attempts=4)
    assert (await _attempt(another, account["email"], PASSWORD)).status_code == 429


async def test_a_successful_sign_in_forgives_earlier_failures(client_with: ClientFactory) -> None:
    client = client_with(login_free_attempts=3)
    account = await register(client)
    for _ in range(2):
        assert (await _attempt(client, account["email"], "wrong password!")).status_code == 401
    assert (await _attempt(client, account["email"], PASSWORD)).status_code == 200
    for _ in range(2):  # without the reset the third failure in a row would already lock
        assert (await _attempt(client, account["email"], "wrong password!")).status_code == 401
    assert (await _attempt(client, account["email"], PASSWORD)).status_code == 200


async def test_back_off_doubles_with_each_further_failure(
    client_with: ClientFactory, advance: Callable[[float], None]
) -> None:
    client = client_with(login_free_attempts=1, login_backoff_base_seconds=1)
    account = await register(client)
    assert (await _attempt(client, account["email"], "wrong password!")).status_code == 401
    assert (await _attempt(client, account["email"], PASSWORD)).headers["retry-after"] == "1"
    advance(1.1)
    assert (await _attempt(client, account["email"], "wrong password!")).status_code == 401
    assert (await _attempt(client, account["email"], PASSWORD)).headers["retry-after"] == "2"


async def test_respelling_a_phone_number_does_not_escape_the_throttle(
    client_with: ClientFactory,
) -> None:
    client = client_with(login_free_attempts=3)
    for spelling in ("+52 951 555 0199", "+529515550199", "0052-951-555-0199"):
        assert (await _attempt(client, spelling, "wrong password!")).status_code == 401
    assert (await _attempt(client, "+52 (951) 555 0199", "wrong password!")).status_code == 429


async def test_unknown_accounts_are_throttled_like_known_ones(client_with: ClientFactory) -> None:
    client = client_with(login_free_attempts=2)
    for _ in range(2):
        assert (await _attempt(client, "nadie@example.org", "wrong password!")).status_code == 401
    assert (await _attempt(client, "nadie@example.org", "wrong password!")).status_code == 429


async def test_one_address_guessing_many_accounts_is_slowed(client_with: ClientFactory) -> None:
    client = client_with(login_address_free_attempts=4, login_free_attempts=100)
    target = await register(client)
    for n in range(4):
        assert (
            await _attempt(client, f"guess{n}@example.org", "wrong password!")
        ).status_code == 401
    assert (await _attempt(client, target["email"], PASSWORD)).status_code == 429
    # the rest of the world is not locked out of that account
    other = client_with(address="198.51.100.200", login_address_free_attempts=4)
    assert (await _attempt(other, target["email"], PASSWORD)).status_code == 200


class CountingHash(PasswordHash):
    """The real argon2 hasher, counting verifications."""

    verifications = 0

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        CountingHash.verifications += 1
        return super().verify(password, hash)

    def verify_and_update(
        self, password: str | bytes, hash: str | bytes
    ) -> tuple[bool, str | None]:
        CountingHash.verifications += 1
        return super().verify_and_update(password, hash)


async def test_unknown_account_costs_the_same_password_check_as_a_wrong_password(
    client_with: ClientFactory,
) -> None:
    client = client_with()
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.password_hasher = CountingHash(app.state.password_hasher.hashers)
    email = unique_email()
    await register(client, email=email)

    CountingHash.verifications = 0
    await _attempt(client, email, "wrong password!")
    wrong_password = CountingHash.verifications
    CountingHash.verifications = 0
    await _attempt(client, "nobody-" + email, "wrong password!")
    unknown_account = CountingHash.verifications
    assert wrong_password == unknown_account == 1


async def test_concurrent_guesses_cannot_outrun_the_throttle(
    live_client_with: Callable[..., httpx.AsyncClient],
) -> None:
    """Twenty guesses sent at once: each is charged before its password is checked, so only the
    free attempts are ever checked, on PostgreSQL as on SQLite."""
    client = live_client_with(login_free_attempts=3)
    account = await register(client)
    responses = await asyncio.gather(
        *(_attempt(client, account["email"], f"wrong password {n}") for n in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(401) == 3
    assert statuses.count(429) == 17


async def test_simultaneous_correct_sign_ins_from_one_clinic_all_get_in(
    live_client_with: Callable[..., httpx.AsyncClient],
) -> None:
    """A clinic's patients share one address and often sign in at the same moment."""
    client = live_client_with()
    accounts = [await register(client) for _ in range(12)]
    responses = await asyncio.gather(
        *(_attempt(client, account["email"], PASSWORD) for account in accounts)
    )
    assert [r.status_code for r in responses] == [200] * 12
