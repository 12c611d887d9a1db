"""A public app's authorization code + PKCE flow in a real Chromium against a live server: the
member signs in on the consent page (in Spanish), unticks one scope, allows, and the app gets a
code at its redirect URI whose token carries only what was allowed. The page fits a phone's
first screen (390×844) and a laptop's. Screenshots go to `TEQUIO_SHOTS` when it is set."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.app.test_consult_page import chromium  # noqa: F401  (the fixture)
from tests.app.test_consult_page_layout import LAPTOP, PHONE
from tests.conftest import Database, make_settings
from tests.factories import OUTBOXES, PASSWORD, admin_tokens, bearer, signed_up
from tests.oauth_support import pkce


async def _fits(page: Any, locator: Any) -> None:
    from playwright.async_api import expect

    await expect(locator).to_be_visible()
    box = await locator.bounding_box()
    size = page.viewport_size
    assert box is not None and box["y"] >= 0
    assert box["y"] + box["height"] <= size["height"] + 0.5, (box, size)
    assert box["x"] + box["width"] <= size["width"] + 0.5, (box, size)


@pytest.mark.slow
async def test_a_public_app_gets_a_code_through_the_consent_page_in_chromium(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    host = await server()
    http = http_to(host)
    # the app's loopback redirect URI: Playwright's routes never see a redirect's target, so
    # the browser really goes there (this server answers 404; the address bar holds the code)
    callback = f"http://{host}/callback"
    admin = await admin_tokens(http, OUTBOXES[host], make_settings(database.url))
    _, owner = await signed_up(http, display_name="Dev Citas")
    created = await http.post(
        "/v1/apps",
        json={
            "name": "Citas Fácil",
            "kind": "public",
            "redirect_uris": [callback],
            "scopes": ["me", "appointments:read", "appointments:write"],
            "contact": "dev@citas.example.org",
        },
        headers=bearer(owner),
    )
    app = created.json()
    await http.post(f"/v1/apps/{app['client_id']}/approve", json={}, headers=bearer(admin))
    member, member_tokens = await signed_up(http)
    verifier, challenge = pkce()
    url = f"http://{host}/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": callback,
            "scope": "me appointments:read appointments:write",
            "state": "s-42",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    laptop = await chromium.new_context(locale="en-US", viewport=LAPTOP)
    page = await laptop.new_page()
    await page.goto(url)
    await _fits(page, page.get_by_role("button", name="Allow"))
    await _shot(page, "oauth-consent-laptop")
    await laptop.close()

    phone = await chromium.new_context(locale="es-MX", viewport=PHONE)
    page = await phone.new_page()
    await page.goto(url)
    await page.get_by_label("Correo o teléfono").fill(member["email"])
    await page.get_by_label("Contraseña").fill(PASSWORD)
    await page.get_by_label("reservar, cambiar y cancelar consultas en su nombre").uncheck()
    await _fits(page, page.get_by_role("button", name="Permitir"))
    await _fits(page, page.get_by_role("button", name="Rechazar"))
    await _shot(page, "oauth-consent-phone")
    await page.get_by_role("button", name="Permitir").click()
    await page.wait_for_url(f"{callback}?**")
    arrived = page.url
    await phone.close()

    query = parse_qs(urlsplit(arrived).query)
    assert query["state"] == ["s-42"]
    answer = await http.post(
        "/v1/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": callback,
            "code_verifier": verifier,
            "client_id": app["client_id"],
        },
    )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["scope"] == "appointments:read me"
    me = await http.get("/v1/me", headers=bearer(tokens))
    assert me.json()["id"] == member["id"]
    refused = await http.post("/v1/appointments", json={}, headers=bearer(tokens))
    assert refused.status_code == 403
    mine = await http.get("/v1/me/apps", headers=bearer(member_tokens))
    assert [a["name"] for a in mine.json()["items"]] == ["Citas Fácil"]


async def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("TEQUIO_SHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"))
