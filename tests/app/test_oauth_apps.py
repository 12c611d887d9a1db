"""Third-party apps through OAuth2: a member lets an app in with fewer scopes than it asked, the
app's token carries only those and its reads land in the member's access log under its name;
a wrong verifier, an unregistered redirect URI, a replayed code and a revoked app are refused;
the password grant is for first-party apps only; strangers see nothing of another's app."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from jose import jwt

from tests.factories import bearer, signed_up
from tests.oauth_support import (
    REDIRECT,
    approved_app,
    authorize_params,
    consented,
    exchanged,
    pkce,
)


async def _member_and_app(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    _, owner_tokens = await signed_up(client, display_name="Dev Citas")
    app = await approved_app(client, owner_tokens, admin)
    member, member_tokens = await signed_up(client)
    return member, member_tokens, app


async def test_a_member_grants_fewer_scopes_and_the_token_carries_only_those(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    member, _, app = await _member_and_app(client, admin)
    page = await client.get(
        "/oauth/authorize",
        params=authorize_params(app, pkce()[1]),
        headers={"Accept-Language": "es-MX"},
    )
    assert page.status_code == 200
    assert "Citas Fácil" in page.text and "ver sus citas" in page.text
    assert "reservar, cambiar y cancelar consultas en su nombre" in page.text
    verifier, challenge = pkce()
    code = await consented(client, app, member["email"], challenge, ["me", "appointments:read"])
    answer = await exchanged(client, app, code, verifier)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["scope"] == "appointments:read me"
    claims = jwt.get_unverified_claims(tokens["access_token"])
    assert claims["client_id"] == app["client_id"]
    me = await client.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["id"] == member["id"]
    booking = await client.post("/v1/appointments", json={}, headers=bearer(tokens))
    assert booking.status_code == 403  # appointments:write was not granted

    refreshed = await client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scope"] == "appointments:read me"
    assert (
        jwt.get_unverified_claims(refreshed.json()["access_token"])["client_id"]
        == (app["client_id"])
    )


async def test_the_access_log_names_the_app_and_revoking_it_stops_its_tokens_at_once(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    member, own_tokens, app = await _member_and_app(client, admin)
    verifier, challenge = pkce()
    code = await consented(client, app, member["email"], challenge, ["me", "appointments:read"])
    tokens = (await exchanged(client, app, code, verifier)).json()
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 200

    log = (await client.get("/v1/me/access-log", headers=bearer(own_tokens))).json()["items"]
    [read] = [e for e in log if e["client_id"] == app["client_id"]]
    assert read["app_name"] == "Citas Fácil" and read["resource"] == "GET /v1/me"
    mine = (await client.get("/v1/me/apps", headers=bearer(own_tokens))).json()["items"]
    assert [(a["name"], a["scopes"]) for a in mine] == [
        ("Citas Fácil", ["appointments:read", "me"])
    ]
    assert mine[0]["last_used_at"] is not None

    revoked = await client.delete(f"/v1/me/apps/{app['client_id']}", headers=bearer(own_tokens))
    assert revoked.status_code == 204
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401
    again = await client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert again.status_code == 401
    assert (await client.get("/v1/me/apps", headers=bearer(own_tokens))).json()["items"] == []
    assert (await client.get("/v1/me", headers=bearer(own_tokens))).status_code == 200


async def test_a_wrong_verifier_and_a_replayed_code_are_refused_and_the_replay_revokes(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    member, _, app = await _member_and_app(client, admin)
    verifier, challenge = pkce()
    code = await consented(client, app, member["email"], challenge, ["me"])
    wrong = await exchanged(client, app, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    verifier, challenge = pkce()
    code = await consented(client, app, member["email"], challenge, ["me"])
    tokens = (await exchanged(client, app, code, verifier)).json()
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 200
    replay = await exchanged(client, app, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401


async def test_an_unregistered_redirect_uri_gets_no_redirect_and_plain_pkce_is_refused(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    _, _, app = await _member_and_app(client, admin)
    challenge = pkce()[1]
    evil = authorize_params(app, challenge, redirect_uri="https://evil.example.com/callback")
    page = await client.get("/oauth/authorize", params=evil)
    assert page.status_code == 400 and "location" not in page.headers
    assert "evil.example.com" not in page.text
    similar = authorize_params(app, challenge, redirect_uri=REDIRECT + "/")
    assert (await client.get("/oauth/authorize", params=similar)).status_code == 400

    plain = authorize_params(app, challenge, code_challenge_method="plain")
    refused = await client.get("/oauth/authorize", params=plain)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith(REDIRECT + "?")
    assert "error=invalid_request" in refused.headers["location"]
    assert "state=xyz-123" in refused.headers["location"]
    denied = await client.post(
        "/oauth/authorize", data=authorize_params(app, challenge) | {"decision": "deny"}
    )
    assert "error=access_denied" in denied.headers["location"]


async def test_an_app_not_approved_or_switched_off_cannot_sign_anyone_in(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    member, _, app = await _member_and_app(client, admin)
    verifier, challenge = pkce()
    code = await consented(client, app, member["email"], challenge, ["me"])
    tokens = (await exchanged(client, app, code, verifier)).json()
    off = await client.patch(
        f"/v1/apps/{app['client_id']}", json={"is_active": False}, headers=bearer(admin)
    )
    assert off.status_code == 200
    assert (await client.get("/v1/me", headers=bearer(tokens))).status_code == 401
    page = await client.get("/oauth/authorize", params=authorize_params(app, challenge))
    assert page.status_code == 400 and "location" not in page.headers

    _, owner_tokens = await signed_up(client)
    waiting = await client.post(
        "/v1/apps",
        json={
            "name": "Sin aprobar",
            "kind": "public",
            "redirect_uris": [REDIRECT],
            "scopes": ["me"],
            "contact": "x@example.org",
        },
        headers=bearer(owner_tokens),
    )
    params = authorize_params(waiting.json(), challenge, scope="me")
    assert (await client.get("/oauth/authorize", params=params)).status_code == 400


async def test_the_password_grant_is_for_first_party_apps_only(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    member, _, app = await _member_and_app(client, admin)
    body = {"username": member["email"], "password": "maiz azul de oaxaca"}
    third = await client.post("/v1/auth/token", json=body | {"client_id": app["client_id"]})
    assert third.status_code == 400 and third.json()["error"] == "unauthorized_client"
    _, owner_tokens = await signed_up(client)
    own = await approved_app(client, owner_tokens, admin, first_party=True)
    first = await client.post("/v1/auth/token", json=body | {"client_id": own["client_id"]})
    assert first.status_code == 200, first.text
    assert (await client.post("/v1/auth/token", json=body)).status_code == 200
    # the docs' Authorize dialog, its client fields left blank: an empty HTTP Basic client
    blank = await client.post("/v1/auth/token", data=body, auth=("", ""))
    assert blank.status_code == 200, blank.text


async def test_a_stranger_cannot_see_approve_or_rotate_anothers_app(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    owner, owner_tokens = await signed_up(client)
    created = await client.post(
        "/v1/apps",
        json={
            "name": "Servidor de la clínica",
            "kind": "confidential",
            "redirect_uris": [REDIRECT],
            "scopes": ["me"],
            "contact": "it@clinica.example.org",
        },
        headers=bearer(owner_tokens),
    )
    app = created.json()
    assert app["client_secret"].startswith("tqs_") and app["has_secret"]
    _, stranger = await signed_up(client)
    ident = app["client_id"]
    for method, path in (
        ("GET", f"/v1/apps/{ident}"),
        ("PATCH", f"/v1/apps/{ident}"),
        ("POST", f"/v1/apps/{ident}/approve"),
        ("POST", f"/v1/apps/{ident}/secret"),
        ("DELETE", f"/v1/me/apps/{ident}"),
    ):
        answer = await client.request(method, path, json={}, headers=bearer(stranger))
        assert answer.status_code in (403, 404), (method, path, answer.text)
        assert owner["id"] not in answer.text and "clinica.example.org" not in answer.text
    listed = await client.get("/v1/apps", headers=bearer(stranger))
    assert listed.json()["items"] == [] and owner["id"] not in listed.text

    rotated = await client.post(f"/v1/apps/{ident}/secret", headers=bearer(owner_tokens))
    assert rotated.status_code == 200
    assert rotated.json()["client_secret"] != app["client_secret"]
    seen = await client.get(f"/v1/apps/{ident}", headers=bearer(owner_tokens))
    assert "client_secret" not in seen.json() and app["client_secret"] not in seen.text


async def test_a_confidential_app_proves_itself_at_each_exchange_and_refresh(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    _, owner = await signed_up(client)
    app = await approved_app(client, owner, admin, kind="confidential")
    credentials = (app["client_id"], app["client_secret"])
    member, _ = await signed_up(client)
    verifier, challenge = pkce()
    code = await consented(client, app, member["email"], challenge, ["me"])
    anonymous = await exchanged(client, app, code, verifier)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    code = await consented(client, app, member["email"], challenge, ["me"])
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    tokens = (await client.post("/v1/auth/token", data=body, auth=credentials)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    bare = await client.post("/v1/auth/token", data=refresh)
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    proved = await client.post("/v1/auth/token", data=refresh, auth=credentials)
    assert proved.status_code == 200, proved.text


async def test_a_smart_app_asks_for_smart_scopes_and_reads_fhir(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    member, _, app = await _member_and_app(client, admin)
    verifier, challenge = pkce()
    asked = "patient/Appointment.rs user/Practitioner.rs"
    code = await consented(
        client, app, member["email"], challenge, ["me", "appointments:read"], asked=asked
    )
    answer = await exchanged(client, app, code, verifier)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["scope"] == "appointments:read me"  # the Tequio scopes they stand for
    found = await client.get(
        "/fhir/R4/Appointment",
        headers={**bearer(tokens), "Accept": "application/fhir+json"},
    )
    assert found.status_code == 200, found.text
    assert found.json()["resourceType"] == "Bundle"

    # a write Tequio does not serve through FHIR goes back to the app as invalid_scope
    params = authorize_params(app, pkce()[1], scope="patient/Appointment.cud")
    refused = await client.get("/oauth/authorize", params=params)
    assert refused.status_code in (302, 303), refused.text
    back = parse_qs(urlsplit(refused.headers["location"]).query)
    assert back["error"] == ["invalid_scope"] and back["state"] == ["xyz-123"]
