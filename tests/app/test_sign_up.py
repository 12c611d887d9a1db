"""Sign-up tells nobody whether an email or phone is registered, and bursts of it slow down."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from sqlalchemy import func, select
from sqlmodel import col

from app.db import create_sessionmaker
from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.kernel import clock
from tests.conftest import Database
from tests.factories import PASSWORD, bearer, login, signed_up, unique_email, unique_phone

SHIPPED = Settings.model_fields["signup_address_free_attempts"].default


async def _sign_up(client: httpx.AsyncClient, language: str = "es", **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/auth/register",
        json={"password": "otra contraseña larga", "display_name": "Otra persona", **body},
        headers={"Accept-Language": language},
    )


def _alike(response: httpx.Response) -> tuple[Any, ...]:
    """What a caller could compare between two answers (the echoed contact aside)."""
    body = response.json()
    return (
        response.status_code,
        response.headers["content-type"],
        response.headers.get("content-language"),
        response.headers.get("retry-after"),
        sorted(body),
        body.get("detail"),
        body.get("type"),
    )


@pytest.mark.parametrize("language", ["es", "en"])
async def test_a_registered_contact_gets_the_same_answer_as_a_new_one(
    client: httpx.AsyncClient, language: str
) -> None:
    email, phone = unique_email(), unique_phone()
    rosa, _ = await signed_up(client, email=email, phone=phone, display_name="Rosa Secreta")
    answers = {
        "registered email": await _sign_up(client, language, email=email.upper()),
        "new email": await _sign_up(client, language, email=unique_email()),
        "registered phone": await _sign_up(client, language, phone=phone),
        "new phone": await _sign_up(client, language, phone=unique_phone()),
    }
    first = _alike(answers["registered email"])
    assert first[0] == 202
    assert all(_alike(answer) == first for answer in answers.values()), answers
    assert answers["registered email"].json()["username"] == email
    assert answers["registered phone"].json()["username"] == phone
    expected = "registered yet" if language == "en" else "aún no estaba registrado"
    assert expected in answers["new phone"].json()["detail"]
    for answer in answers.values():
        assert rosa["id"] not in answer.text and "Rosa Secreta" not in answer.text
    # Rosa's account is untouched: her password still signs in, the stranger's does not
    assert (await login(client, email))["access_token"]
    refused = await client.post(
        "/v1/auth/token", json={"username": phone, "password": "otra contraseña larga"}
    )
    assert refused.status_code == 401


async def test_weak_passwords_are_refused_alike_for_new_and_registered_contacts(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await signed_up(client, email=email)
    weak = [
        await _sign_up(client, email=contact, password="1234567890")
        for contact in (email, unique_email())
    ]
    assert [r.status_code for r in weak] == [422, 422]
    assert weak[0].json()["type"] == weak[1].json()["type"]
    assert weak[0].json()["detail"] == weak[1].json()["detail"]


class CountingHash(PasswordHash):
    """The real argon2 hasher, counting the hashes it makes."""

    hashes = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        CountingHash.hashes += 1
        return super().hash(password, salt=salt)


async def test_a_registered_contact_costs_the_same_hash_as_a_new_one(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await signed_up(client, email=email)
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.password_hasher = CountingHash(app.state.password_hasher.hashers)
    costs = []
    for contact in (email, unique_email()):
        CountingHash.hashes = 0
        assert (await _sign_up(client, email=contact)).status_code == 202
        costs.append(CountingHash.hashes)
    assert costs == [1, 1]


async def test_a_burst_of_probes_from_one_address_is_throttled(
    live_client_with: Callable[..., httpx.AsyncClient],
) -> None:
    """The issue's 40 probes in under two seconds: half known contacts, half not."""
    known = [(await signed_up(live_client_with(address="198.51.100.5")))[0] for _ in range(3)]
    prober = live_client_with(address="198.51.100.66", signup_address_free_attempts=SHIPPED)
    contacts = [known[n % 3]["email"] if n % 2 else unique_email() for n in range(40)]
    with clock.travel(clock.now(), frozen=True):
        answers = await asyncio.gather(*(_sign_up(prober, email=c) for c in contacts))
    statuses = [a.status_code for a in answers]
    assert statuses.count(202) == SHIPPED
    assert statuses.count(429) == 40 - SHIPPED
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["type"].endswith("/too-many-sign-ups")
    assert int(refused.headers["retry-after"]) >= 1


async def test_a_clinic_signing_up_its_patients_is_not_blocked(
    live_client_with: Callable[..., httpx.AsyncClient],
) -> None:
    """A morning's rush below the limit all gets in, and a steady pace afterwards never piles up:
    one sign-up is forgiven each minute."""
    clinic = live_client_with(address="198.51.100.8", signup_address_free_attempts=SHIPPED)
    start = clock.now()
    with clock.travel(start, frozen=True):
        rush = [unique_phone() for _ in range(SHIPPED - 5)]
        answers = await asyncio.gather(*(_sign_up(clinic, phone=phone) for phone in rush))
        assert [a.status_code for a in answers] == [202] * len(rush)
    for minute in range(1, 31):  # then one patient a minute for half an hour
        with clock.travel(start + timedelta(minutes=minute), frozen=True):
            later = await _sign_up(clinic, phone=unique_phone())
            assert later.status_code == 202, minute
    with clock.travel(start + timedelta(minutes=31), frozen=True):
        for phone in rush:
            tokens = await login(clinic, phone, "otra contraseña larga")
            assert (await clinic.get("/v1/me", headers=bearer(tokens))).status_code == 200


async def test_one_contact_probed_from_many_addresses_is_throttled(
    live_client_with: Callable[..., httpx.AsyncClient],
) -> None:
    email = unique_email()
    with clock.travel(clock.now(), frozen=True):
        answers = [
            await _sign_up(live_client_with(address=f"198.51.100.{10 + n}"), email=email)
            for n in range(5)
        ]
    free = Settings.model_fields["signup_contact_free_attempts"].default
    assert [a.status_code for a in answers] == [202] * free + [429] * (5 - free)


async def test_concurrent_sign_ups_with_one_email_create_one_account(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    client = live_client_with(signup_contact_free_attempts=10)
    email = unique_email()
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/auth/register",
                json={"email": email, "password": PASSWORD, "display_name": f"Rosa {n}"},
            )
            for n in range(5)
        )
    )
    assert [r.status_code for r in responses] == [202] * 5
    tokens = await login(client, email)
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert me["display_name"] in {f"Rosa {n}" for n in range(5)}
    async with create_sessionmaker(database.engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(Account).where(col(Account.email) == email)
        )
    assert count == 1
