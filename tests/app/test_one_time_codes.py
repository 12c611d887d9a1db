"""One-time codes: a new account verifies its contact before it books or votes, a forgotten
password comes back through a code to the verified contact, a new phone or email is verified
before it is the account's. Codes are short-lived, single-use, dead after a few wrong tries,
and never logged nor shown back."""

import asyncio
import json
import logging
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db import create_sessionmaker
from app.main import create_app
from app.outbox import Dispatcher
from app.settings import Settings
from cooperative.kernel import clock
from cooperative.notifications.models import OutboxMessage
from cooperative.notifications.providers import DevelopmentProvider
from tests.conftest import TEST_ADDRESS, Database, _empty_tables, make_settings
from tests.factories import (
    PASSWORD,
    bearer,
    book,
    code_sent_to,
    login,
    open_slots,
    practitioner,
    sign_up,
    signed_up,
    unique_email,
    unique_phone,
)

NEW_PASSWORD = "tejate frío de la costa"


def _kind(response: httpx.Response) -> str:
    return str(response.json()["type"]).rsplit("/", 1)[-1]


async def _verify(client: httpx.AsyncClient, username: str, code: str) -> httpx.Response:
    return await client.post("/v1/auth/verify", json={"username": username, "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.usefixtures("bylaws_installed")
async def test_a_new_account_books_only_once_its_code_verified_its_contact(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    profile, _ = await practitioner(client, admin, sessionmaker, settings)
    username = await sign_up(client, phone=unique_phone(), verify=False)
    patient = await login(client, username)  # an unverified account signs in and reads
    me = (await client.get("/v1/me", headers=bearer(patient))).json()
    assert me["phone_verified_at"] is None
    slots = await open_slots(
        client, patient, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    refused = await client.post(
        "/v1/appointments",
        json={
            "practitioner_id": profile["id"],
            "start": slots[0]["start"],
            "patient_jurisdiction": "MX-OAX",
        },
        headers={**bearer(patient), "Accept-Language": "en"},
    )
    assert refused.status_code == 403, refused.text
    assert _kind(refused) == "not-verified"
    assert "verify your phone or email first" in refused.json()["detail"]
    spanish = await client.post(
        f"/v1/proposals/{uuid.uuid4()}/ballots",
        json={"vote": "yes"},
        headers={**bearer(patient), "Accept-Language": "es"},
    )
    assert spanish.status_code == 403, spanish.text
    assert "verifique primero su teléfono o correo" in spanish.json()["detail"]

    code = await code_sent_to(client, username)
    assert code is not None and re.fullmatch(r"[0-9]{6}", code)
    verified = await _verify(client, username, f"{code[:3]} {code[3:]}")  # as people type it
    assert verified.status_code == 200, verified.text
    assert (await client.get("/v1/me", headers=bearer(patient))).json()["phone_verified_at"]
    booked = await book(client, patient, profile["id"], slots[0]["start"])
    assert booked.status_code == 201, booked.text

    again = await _verify(client, username, code)
    assert again.status_code == 422 and _kind(again) == "code-used", again.text


async def test_signing_up_with_a_registered_contact_tells_its_owner_and_nobody_else(
    client: httpx.AsyncClient,
) -> None:
    owner, owner_tokens = await signed_up(client, phone=unique_phone())
    fresh = await client.post(
        "/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "display_name": "Nueva"},
    )
    taken = await client.post(
        "/v1/auth/register",
        json={"phone": owner["phone"], "password": "otra contraseña larga", "display_name": "X"},
    )
    assert taken.status_code == fresh.status_code == 202
    assert taken.json().keys() == fresh.json().keys()
    assert taken.json()["detail"] == fresh.json()["detail"]
    listed = await client.get("/v1/me/notifications", headers=bearer(owner_tokens))
    templates = [m["template"] for m in listed.json()["items"]]
    assert templates.count("account.sign_up_tried") == 1
    assert templates.count("code.verify") == 1  # its own sign-up's, none for the attempt
    tried = next(m for m in listed.json()["items"] if m["template"] == "account.sign_up_tried")
    assert "phone number" in tried["body"] or "teléfono" in tried["body"]


async def test_a_code_dies_after_five_wrong_tries_and_an_unknown_account_looks_the_same(
    client: httpx.AsyncClient,
) -> None:
    username = await sign_up(client, verify=False)
    code = await code_sent_to(client, username)
    assert code is not None
    for _ in range(5):
        wrong = await _verify(client, username, _wrong(code))
        assert wrong.status_code == 422 and _kind(wrong) == "wrong-code", wrong.text
    # a sixth wrong try looks like a try on an account nobody registered: the dead code does
    # not tell a stranger that this username was waiting for one
    sixth = await _verify(client, username, _wrong(code))
    unknown = await _verify(client, unique_email(), code)
    assert sixth.status_code == unknown.status_code == wrong.status_code
    same = {key for key in wrong.json() if key != "request_id"}
    assert {k: sixth.json()[k] for k in same} == {k: unknown.json()[k] for k in same}
    assert sixth.json().keys() == unknown.json().keys() and _kind(unknown) == "wrong-code"
    # its owner, who has the code, learns that it died
    dead = await _verify(client, username, code)
    assert dead.status_code == 422 and _kind(dead) == "code-expired", dead.text

    resent = await client.post("/v1/auth/verify/resend", json={"username": username})
    nobody = await client.post("/v1/auth/verify/resend", json={"username": unique_email()})
    assert resent.status_code == nobody.status_code == 202
    assert resent.json() == nobody.json()
    new_code = await code_sent_to(client, username)
    assert new_code is not None
    assert (await _verify(client, username, new_code)).status_code == 200


async def test_a_code_expires(client: httpx.AsyncClient, travel: Any, settings: Settings) -> None:
    username = await sign_up(client, verify=False)
    code = await code_sent_to(client, username)
    assert code is not None
    travel(clock.now() + timedelta(minutes=settings.code_minutes, seconds=1))
    late = await _verify(client, username, code)
    assert late.status_code == 422 and _kind(late) == "code-expired", late.text


async def test_codes_for_one_account_slow_down(client: httpx.AsyncClient) -> None:
    username = await sign_up(client, verify=False)  # the sign-up's code is the first
    answers = [
        (await client.post("/v1/auth/verify/resend", json={"username": username})).status_code
        for _ in range(6)
    ]
    assert answers[:4] == [202] * 4 and answers[-1] == 429, answers


async def test_recovery_sets_a_new_password_and_ends_every_sign_in(
    client: httpx.AsyncClient,
) -> None:
    account, tokens = await signed_up(client)
    username = account["email"]
    other = await login(client, username)
    asked = await client.post("/v1/auth/recover", json={"username": username})
    nobody = await client.post("/v1/auth/recover", json={"username": unique_email()})
    assert asked.status_code == nobody.status_code == 202 and asked.json() == nobody.json()
    code = await code_sent_to(client, username)
    assert code is not None
    weak = await client.post(
        "/v1/auth/recover/confirm",
        json={"username": username, "code": code, "new_password": "123"},
    )
    assert weak.status_code == 422 and _kind(weak) == "weak-password", weak.text
    done = await client.post(
        "/v1/auth/recover/confirm",
        json={"username": username, "code": code, "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    for old in (tokens, other):
        refreshed = await client.post(
            "/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
        )
        assert refreshed.status_code == 401, refreshed.text
        assert (await client.get("/v1/me", headers=bearer(old))).status_code == 401
    old_password = await client.post(
        "/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert old_password.status_code == 401
    await login(client, username, NEW_PASSWORD)


async def test_changing_the_password_ends_the_other_sign_ins(client: httpx.AsyncClient) -> None:
    account, here = await signed_up(client)
    elsewhere = await login(client, account["email"])
    wrong = await client.post(
        "/v1/me/password",
        json={"current_password": "no es la mía de verdad", "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert wrong.status_code == 422 and _kind(wrong) == "wrong-password", wrong.text
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get("/v1/me", headers=bearer(here))).status_code == 200
    assert (await client.get("/v1/me", headers=bearer(elsewhere))).status_code == 401
    await login(client, account["email"], NEW_PASSWORD)


async def test_a_new_phone_is_the_accounts_only_once_its_code_came_back(
    client: httpx.AsyncClient,
) -> None:
    account, tokens = await signed_up(client)
    someone, _ = await signed_up(client, phone=unique_phone())
    taken = await client.post(
        "/v1/me/contact", json={"phone": someone["phone"]}, headers=bearer(tokens)
    )
    assert taken.status_code == 409 and _kind(taken) == "contact-taken", taken.text
    phone = unique_phone()
    asked = await client.post("/v1/me/contact", json={"phone": phone}, headers=bearer(tokens))
    assert asked.status_code == 202, asked.text
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert me["phone"] is None  # not before the code comes back
    code = await code_sent_to(client, phone)  # sent to the new phone itself
    assert code is not None
    wrong = await client.post(
        "/v1/me/contact/confirm", json={"code": _wrong(code)}, headers=bearer(tokens)
    )
    assert wrong.status_code == 422 and _kind(wrong) == "wrong-code", wrong.text
    confirmed = await client.post(
        "/v1/me/contact/confirm", json={"code": code}, headers=bearer(tokens)
    )
    assert confirmed.status_code == 200, confirmed.text
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert me["phone"] == phone and me["phone_verified_at"] is not None
    assert me["email"] == account["email"]
    await login(client, phone)


async def test_codes_are_never_logged_nor_shown_back(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account, tokens = await signed_up(client, verify=False)
    code = await code_sent_to(client, account["email"])
    assert code is not None
    assert (await _verify(client, account["email"], _wrong(code))).status_code == 422
    assert (await _verify(client, account["email"], code)).status_code == 200
    listed = await client.get("/v1/me/notifications", headers=bearer(tokens))
    sent = next(m for m in listed.json()["items"] if m["template"] == "code.verify")
    assert "•••" in sent["body"] and code not in listed.text
    export = await client.get("/v1/me/export", headers=bearer(tokens))
    exported = next(m for m in export.json()["notifications"] if m["template"] == "code.verify")
    assert exported["parameters"]["code"] == "•••" and exported["state"] == "cancelled"
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert logged, "the requests were logged"
    assert not re.search(rf"(?<![0-9]){code}(?![0-9])", logged)


async def _kept_parameters(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        rows = await session.execute(select(col(OutboxMessage.parameters)))
        return json.dumps([row for (row,) in rows], ensure_ascii=False)


async def test_a_code_is_kept_nowhere_in_clear_once_sent_or_used(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Only its hash stays: its message's row masks it once it went out, and once it was
    used before going out."""
    inbox = DevelopmentProvider()
    username = await sign_up(client, verify=False)
    await Dispatcher(sessionmaker, [inbox], base_url="https://t.test").drain()
    [sent] = [m for m in inbox.inbox if m.address == username]
    found = re.search(r"código de Tequio es (\d{6})", sent.body)
    assert found is not None
    assert found[1] not in await _kept_parameters(sessionmaker)
    assert (await _verify(client, username, found[1])).status_code == 200

    other = await sign_up(client, verify=False)
    code = await code_sent_to(client, other)  # still queued: the row carries it
    assert code is not None and code in await _kept_parameters(sessionmaker)
    assert (await _verify(client, other, code)).status_code == 200
    assert code not in await _kept_parameters(sessionmaker)


async def test_in_development_the_code_is_read_at_dev_inbox_from_loopback_only(
    database: Database,
) -> None:
    """How a newcomer running `make run` reads their code: the development provider's inbox,
    on loopback, in development; the log line of the same delivery masks it."""
    app = create_app(
        make_settings(database.url, environment="development", outbox_dispatch_seconds=0.05),
        engine=database.engine,
        sessionmaker=create_sessionmaker(database.engine),
    )
    here = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)),
        base_url="http://127.0.0.1:8000",
    )
    away = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(TEST_ADDRESS, 40000)),
        base_url="http://127.0.0.1:8000",
    )
    try:
        async with app.router.lifespan_context(app), here, away:
            username = await sign_up(here, verify=False)
            found = None
            for _ in range(200):  # the dispatcher delivers within a pass or two
                shown = (await here.get("/dev/inbox")).text
                if found := re.search(r"código de Tequio es (\d{6})", shown):
                    break
                await asyncio.sleep(0.05)
            assert found is not None and username not in shown  # the address masked
            assert (await _verify(here, username, found[1])).status_code == 200
            assert (await away.get("/dev/inbox")).status_code == 404
    finally:
        await _empty_tables(database.engine)


async def test_outside_development_there_is_no_dev_inbox(client: httpx.AsyncClient) -> None:
    assert (await client.get("/dev/inbox")).status_code == 404
