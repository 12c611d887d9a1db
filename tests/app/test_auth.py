"""Sign-up, sign-in by email and by phone, refresh rotation, reuse detection, sign-out, /v1/me."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from jose import jwt
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.accounts.models import Account, RefreshToken
from cooperative.kernel import clock
from tests.factories import (
    PASSWORD,
    bearer,
    login,
    register,
    signed_up,
    unique_email,
    unique_phone,
)


async def test_sign_up_with_email_then_sign_in_and_see_myself(client: httpx.AsyncClient) -> None:
    email = unique_email()
    account = await register(client, email=email.upper(), display_name="Lupe García")
    assert account["email"] == email
    assert account["phone"] is None
    assert account["roles"] == ["patient"]
    assert "password" not in account and "password_hash" not in account

    tokens = await login(client, email)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60

    me = await client.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["id"] == account["id"]
    assert me.json()["display_name"] == "Lupe García"
    assert "appointments:write" in me.json()["scopes"]
    assert "admin" not in me.json()["scopes"]


async def test_sign_up_with_phone_only_and_sign_in_with_any_spelling(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client, phone="+52 (951) 555-0101")
    assert account["phone"] == "+529515550101"
    assert account["email"] is None

    for spelling in ("+529515550101", "+52 951 555 0101", "0052 951 555 0101"):
        tokens = await login(client, spelling)
        me = await client.get("/v1/me", headers=bearer(tokens))
        assert me.json()["phone"] == "+529515550101"


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("+52 951 100 0002", "951 100 0002"),
        ("+52 951 100 0002", "9511000002"),
        ("+52 951 100 0002", "52 951 100 0002"),
        ("+52 951 100 0002", "+52 1 951 100 0002"),
        ("+52 951 100 0002", "044 951 100 0002"),
        ("951 100 0002", "+52 951 100 0002"),
        ("+52 1 951 100 0002", "+529511000002"),
        ("+1 213 555 0100", "(213) 555-0100"),
        ("+1 213 555 0100", "213-555-0100"),
        ("(213) 555-0100", "1 213 555 0100"),
    ],
)
async def test_sign_in_with_the_phone_number_as_people_type_it(
    client: httpx.AsyncClient, registered: str, typed: str
) -> None:
    """Rosa signed up with her number in one form and signs in with it in another."""
    account = await register(client, phone=registered)
    tokens = await login(client, typed)
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert me["id"] == account["id"]
    assert me["phone"] == account["phone"] and me["phone"].startswith("+")


async def test_a_number_left_in_its_old_spelling_still_signs_its_owner_in(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Two accounts held one number in two spellings, so the migration left the older one as
    it was (`+52 1 …`): its owner, typing the number that way, reaches her own account."""
    older = await register(client, phone="+52 951 100 0077")
    async with sessionmaker() as session:
        await session.execute(
            update(Account)
            .where(col(Account.id) == uuid.UUID(older["id"]))
            .values(phone="+5219511000077")
        )
        await session.commit()
    newer = await register(client, phone="951 100 0077")
    assert newer["phone"] == "+529511000077"
    mine = await login(client, "+52 1 951 100 0077")
    assert (await client.get("/v1/me", headers=bearer(mine))).json()["id"] == older["id"]
    theirs = await login(client, "951 100 0077")
    assert (await client.get("/v1/me", headers=bearer(theirs))).json()["id"] == newer["id"]


async def test_a_wrong_number_in_any_form_gets_the_answer_of_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client, phone="+52 951 100 0002")
    answers = [
        await client.post("/v1/auth/token", json={"username": username, "password": password})
        for username, password in (
            ("951 100 0003", PASSWORD),  # a number nobody has
            ("0000", PASSWORD),  # not a number at all
            ("951 100 0002", "not the password"),  # hers, with a wrong password
        )
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({(a.json()["type"], a.json()["detail"]) for a in answers}) == 1
    assert account["phone"] == "+529511000002"


async def test_the_token_endpoint_says_which_phone_forms_work(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/v1/auth/token"]["post"]
    for form in ("951 123 4567", "+52 1 951 123 4567", "(213) 555-0100", "1 213 555 0100"):
        assert form in operation["description"]
    assert "El teléfono se escribe como se acostumbra" in operation["description"]


async def test_oauth2_password_form_signs_in_like_the_docs_authorize_button(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": account["email"], "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/v1/me", headers=bearer(response.json()))
    assert me.json()["email"] == account["email"]


async def test_a_token_can_be_narrowed_to_fewer_scopes(client: httpx.AsyncClient) -> None:
    account = await register(client)
    narrowed = await login(client, account["email"], scope="appointments:read admin")
    assert narrowed["scope"] == "appointments:read"  # admin was not granted, so not given
    response = await client.get("/v1/me", headers=bearer(narrowed))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/insufficient-scope")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("corta", "too-short"),
        ("1234567890", "common"),
        ("Contraseña123", "common"),
        ("aaaaaaaaaaaa", "common"),
        ("x" * 129, "too-long"),
    ],
)
async def test_weak_passwords_are_refused_and_nothing_is_created(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    email = unique_email()
    response = await client.post(
        "/v1/auth/register",
        json={"email": email, "password": password, "display_name": "Rosa"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/weak-password")
    assert response.json()["reason"] == reason
    # nothing was created: the email is still free
    await register(client, email=email)


async def test_password_may_not_contain_the_phone_number(client: httpx.AsyncClient) -> None:
    phone = unique_phone()
    response = await client.post(
        "/v1/auth/register",
        json={"phone": phone, "password": f"mi numero {phone[1:]}", "display_name": "Rosa"},
    )
    assert response.status_code == 422
    assert response.json()["reason"] == "contains-contact"


async def test_sign_in_with_a_wrong_password_or_unknown_account_says_only_that(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    wrong = await client.post(
        "/v1/auth/token", json={"username": account["email"], "password": "not the password"}
    )
    unknown = await client.post(
        "/v1/auth/token", json={"username": "nadie@example.org", "password": "not the password"}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["type"].endswith("/invalid-credentials")
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_refresh_rotates_and_the_old_token_stops_working(client: httpx.AsyncClient) -> None:
    _, first = await signed_up(client)
    response = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/v1/me", headers=bearer(second))).status_code == 200

    third = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


async def test_refresh_through_the_oauth2_token_endpoint(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] != tokens["refresh_token"]


async def test_reusing_a_spent_refresh_token_ends_the_whole_session(
    client: httpx.AsyncClient, travel: Callable[[datetime], None]
) -> None:
    account, stolen = await signed_up(client)
    rotated = (
        await client.post("/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    ).json()

    travel(clock.now() + timedelta(seconds=31))  # past the retry grace
    replay = await client.post("/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/refresh-token-reused")

    # the legitimate holder's newer tokens die with the family, access token included
    after = await client.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    me = await client.get("/v1/me", headers=bearer(rotated))
    assert me.status_code == 401
    assert me.json()["type"].endswith("/session-ended")

    # other sign-ins of the same account are untouched
    other = await login(client, account["email"])
    assert (await client.get("/v1/me", headers=bearer(other))).status_code == 200


async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/refresh", json={"refresh_token": "no-such-token"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-refresh-token")


async def test_logout_ends_access_and_refresh_tokens(client: httpx.AsyncClient) -> None:
    account, tokens = await signed_up(client)
    other_device = await login(client, account["email"])

    response = await client.post("/v1/auth/logout", headers=bearer(tokens))
    assert response.status_code == 204
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401
    again = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    # signing out on one phone does not sign out the clinic's tablet
    assert (await client.get("/v1/me", headers=bearer(other_device))).status_code == 200


async def test_logout_with_only_the_refresh_token(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    response = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401


async def test_logout_without_any_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/logout")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/not-authenticated")


async def test_me_without_a_token_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_concurrent_retries_of_one_refresh_all_get_the_same_pair(
    live_client: httpx.AsyncClient,
) -> None:
    """A flaky link sends a refresh six times at once: it is spent once, and every retry gets
    the same new pair, which keeps working (nobody is signed out)."""
    _, tokens = await signed_up(live_client)
    responses = await asyncio.gather(
        *(
            live_client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            for _ in range(6)
        )
    )
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.content for r in responses}) == 1
    pair = responses[0].json()
    assert (await live_client.get("/v1/me", headers=bearer(pair))).status_code == 200
    onward = await live_client.post(
        "/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert onward.status_code == 200


async def test_a_refresh_retried_within_the_grace_gets_the_same_pair(
    client: httpx.AsyncClient, travel: Callable[[datetime], None]
) -> None:
    """Rosa's phone refreshed, lost the answer in a tunnel and sent it again 20 s later."""
    _, tokens = await signed_up(client)
    first = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    travel(clock.now() + timedelta(seconds=20))
    retry = await client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert (await client.get("/v1/me", headers=bearer(retry.json()))).status_code == 200


async def test_a_retry_after_the_new_token_was_used_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    """Within the grace, but the new refresh token was used already: not a lost answer, so
    the old token's reuse is treated as theft."""
    _, tokens = await signed_up(client)
    second = (
        await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    third = (
        await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).json()
    replay = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/refresh-token-reused")
    assert (await client.get("/v1/me", headers=bearer(third))).status_code == 401


async def test_the_grace_is_a_setting(live_client_with: Callable[..., httpx.AsyncClient]) -> None:
    strict = live_client_with(refresh_reuse_grace_seconds=0)
    _, tokens = await signed_up(strict)
    await strict.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    replay = await strict.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401


async def test_refresh_keeps_a_narrowed_scope(client: httpx.AsyncClient) -> None:
    """RFC 6749 §6: a refreshed token never carries more than the sign-in asked for."""
    account = await register(client)
    narrowed = await login(client, account["email"], scope="me appointments:read")
    refreshed = (
        await client.post("/v1/auth/refresh", json={"refresh_token": narrowed["refresh_token"]})
    ).json()
    assert refreshed["scope"] == "appointments:read me"


async def test_logout_with_an_expired_access_token_still_ends_the_session(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A phone back online after an hour signs out with its refresh token."""
    _, tokens = await signed_up(client)
    claims = jwt.get_unverified_claims(tokens["access_token"])
    claims["exp"] = int(clock.now().timestamp()) - 3600
    expired = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    response = await client.post(
        "/v1/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert response.status_code == 204
    again = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account, tokens = await signed_up(client)
    async with sessionmaker() as session:
        await session.execute(
            update(Account).where(col(Account.email) == account["email"]).values(is_active=False)
        )
        await session.commit()
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401
    refused = await client.post(
        "/v1/auth/token", json={"username": account["email"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


async def test_an_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, tokens = await signed_up(client)
    async with sessionmaker() as session:
        await session.execute(
            update(RefreshToken).values(expires_at=clock.now() - timedelta(seconds=1))
        )
        await session.commit()
    response = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-refresh-token")
