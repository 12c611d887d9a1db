"""Apps for the OAuth2 tests: registered by a member, approved by an admin, and a member's way
through the consent page as a form would post it."""

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.factories import PASSWORD, bearer

REDIRECT = "https://citas.example.org/callback"
ASKED = "me appointments:read appointments:write"


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge, computed here independently of the server."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def approved_app(
    http: httpx.AsyncClient,
    owner: dict[str, Any],
    admin: dict[str, Any],
    *,
    kind: str = "public",
    redirect_uris: list[str] | None = None,
    scopes: list[str] | None = None,
    first_party: bool = False,
) -> dict[str, Any]:
    created = await http.post(
        "/v1/apps",
        json={
            "name": "Citas Fácil",
            "kind": kind,
            "redirect_uris": redirect_uris or [REDIRECT],
            "scopes": scopes or ["me", "appointments:read", "appointments:write"],
            "contact": "dev@citas.example.org",
        },
        headers=bearer(owner),
    )
    assert created.status_code == 201, created.text
    app: dict[str, Any] = created.json()
    approved = await http.post(
        f"/v1/apps/{app['client_id']}/approve",
        json={"first_party": first_party},
        headers=bearer(admin),
    )
    assert approved.status_code == 200, approved.text
    return app


def authorize_params(app: dict[str, Any], challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": ASKED,
        "state": "xyz-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


async def consented(
    http: httpx.AsyncClient,
    app: dict[str, Any],
    username: str,
    challenge: str,
    grant: list[str],
    *,
    asked: str = ASKED,
) -> str:
    """The member allows `grant` of what the app `asked` on the consent page; the code the
    app gets back."""
    form = authorize_params(app, challenge, scope=asked) | {
        "username": username,
        "password": PASSWORD,
        "decision": "allow",
    }
    answer = await http.post("/oauth/authorize", data={**form, "grant": grant})
    assert answer.status_code == 303, answer.text
    back = urlsplit(answer.headers["location"])
    query = parse_qs(back.query)
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    assert query["state"] == ["xyz-123"]
    return query["code"][0]


async def exchanged(
    http: httpx.AsyncClient, app: dict[str, Any], code: str, verifier: str
) -> httpx.Response:
    return await http.post(
        "/v1/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": app["client_id"],
        },
    )
