"""The browser consult page, driven in headless Chromium with a fake camera and microphone: two
people join, the doctor admits the patient, each sees the other's video, they chat, mute and go
audio-only; the pre-call check echoes video and reports; the page is in Spanish for es-MX; the
server relay and recording consent work from the page. Nothing is loaded from another host."""

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, Database
from tests.consult_support import consult_soon
from tests.factories import PASSWORD, bearer

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
RELAY_NOTE = "Video goes through the cooperative's server"
SMALL_RELAY = {
    "relay_video_max_width": 160,
    "relay_video_max_height": 120,
    "relay_video_max_fps": 10,
}
WAIT_MS = 20_000
PATIENT = "Rosa Martínez"  # the factories' patient


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        if IN_CI:
            pytest.fail("CI=true: the browser tests need Debian's chromium at /usr/bin/chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Person:
    """One person's browser (its own profile) on the consult page."""

    page: Any
    base: str
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def button(self, name: str) -> Any:
        return self.page.get_by_role("button", name=name, exact=True)

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.page.evaluate("window.tequio.stats()")
        return stats

    async def frames_from(self, account_id: str) -> int:
        peer = (await self.stats())["peers"].get(account_id) or {}
        frames: int = peer.get("framesDecoded", 0)
        return frames

    async def wait_for(self, probe: Callable[[], Any], what: str, seconds: float = 30) -> Any:
        """Poll `probe` until it returns something truthy; say what the page saw if it does not."""
        for _ in range(int(seconds / 0.25)):
            if value := await probe():
                return value
            await asyncio.sleep(0.25)
        seen = await self.page.evaluate(
            "Promise.all([window.tequio.state(), window.tequio.stats()])"
        )
        pytest.fail(f"{what}: not within {seconds} s; page: {seen}; console: {self.console}")

    async def left_nothing_behind(self) -> None:
        """No request left this server, no script error, no Content-Security-Policy violation."""
        assert [url for url in self.requested if not url.startswith(self.base)] == []
        assert self.errors == []
        assert await self.page.evaluate("window.tequio.cspViolations()") == []


async def open_page(
    chromium: Any,
    host: str,
    consult_id: str,
    tokens: dict[str, Any] | None = None,
    locale: str = "en-US",
) -> Person:
    context = await chromium.new_context(locale=locale)
    page = await context.new_page()
    person = Person(page, f"http://{host}/")
    page.on("request", lambda request: person.requested.append(request.url))
    page.on("pageerror", lambda error: person.errors.append(str(error)))
    page.on("console", lambda message: person.console.append(message.text))
    fragment = f"#access_token={tokens['access_token']}" if tokens else ""
    await page.goto(f"http://{host}/consult/{consult_id}{fragment}")
    return person


async def both_in_the_room(
    chromium: Any, host: str, http: httpx.AsyncClient, consult: dict[str, Any]
) -> tuple[Person, Person]:
    """The doctor opens the page already signed in, the patient signs in with the form; both
    join and the doctor admits the patient from the waiting room."""
    from playwright.async_api import expect

    doctor = await open_page(chromium, host, consult["id"], consult["doctor"])
    patient = await open_page(chromium, host, consult["id"])
    email = (await http.get("/v1/me", headers=bearer(consult["patient"]))).json()["email"]
    await patient.page.get_by_label("Email or phone").fill(email)
    await patient.page.get_by_label("Password").fill(PASSWORD)
    await patient.button("Sign in").click()

    await doctor.button("Join the consult").click()
    await patient.button("Join the consult").click()
    waiting = patient.page.get_by_text(f"Waiting for {consult['doctor_name']} to let you in")
    await expect(waiting).to_be_visible()
    await doctor.button(f"Admit {PATIENT}").click(timeout=WAIT_MS)
    await expect(waiting).to_be_hidden()
    return doctor, patient


@pytest.mark.slow
async def test_doctor_and_patient_see_each_other_chat_mute_and_go_audio_only(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
) -> None:
    from playwright.async_api import expect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor, patient = await both_in_the_room(chromium, host, http, consult)
    assert "access_token" not in doctor.page.url  # the token left the address bar

    # each side decodes the other's camera
    await doctor.wait_for(lambda: doctor.frames_from(consult["patient_id"]), "patient's video")
    await patient.wait_for(lambda: patient.frames_from(consult["doctor_id"]), "doctor's video")

    await patient.page.get_by_label("Message").fill("¿Me escucha, doctora?")
    await patient.button("Send").click()
    await expect(doctor.page.locator("#chat-log")).to_contain_text(
        f"{PATIENT}: ¿Me escucha, doctora?"
    )
    await doctor.page.get_by_label("Message").fill("Sí, la escucho bien.")
    await doctor.page.get_by_label("Message").press("Enter")
    await expect(patient.page.locator("#chat-log")).to_contain_text(
        f"{consult['doctor_name']}: Sí, la escucho bien."
    )

    tile = doctor.page.locator(f'figure[data-account="{consult["patient_id"]}"]')
    await patient.button("Mute").click()
    await expect(tile).to_contain_text("muted")
    await expect(patient.button("Unmute")).to_have_attribute("aria-pressed", "true")

    await patient.button("Audio only").click()
    await expect(tile).to_contain_text("audio only")
    await expect(doctor.page.locator("#participants")).to_contain_text("audio only")
    # the patient's video really stops arriving
    await asyncio.sleep(1)
    stopped = await doctor.frames_from(consult["patient_id"])
    await asyncio.sleep(1.5)
    assert await doctor.frames_from(consult["patient_id"]) == stopped

    await patient.button("Turn camera on").click()
    await patient.button("Unmute").click()
    await expect(tile).not_to_contain_text("audio only")
    await expect(tile).not_to_contain_text("muted")
    await doctor.wait_for(
        lambda: _more(doctor.frames_from(consult["patient_id"]), stopped), "video again"
    )

    for person in (doctor, patient):
        await person.left_nothing_behind()
        await person.page.context.close()


async def _more(count: Any, than: int) -> bool:
    return bool(await count > than)


@pytest.mark.slow
async def test_a_patient_who_reloads_gets_the_video_back(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
) -> None:
    """A reload throws the page's connections away: the doctor's side starts over with it."""
    from playwright.async_api import expect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor, patient = await both_in_the_room(chromium, host, http, consult)
    await doctor.wait_for(lambda: doctor.frames_from(consult["patient_id"]), "patient's video")

    await patient.page.reload()  # signed in still (sessionStorage), and admitted
    await patient.button("Join the consult").click()
    await expect(patient.page.get_by_text("Waiting for Dra.")).to_be_hidden()
    await patient.wait_for(lambda: patient.frames_from(consult["doctor_id"]), "doctor's video")
    await doctor.wait_for(lambda: doctor.frames_from(consult["patient_id"]), "patient's video")

    for person in (doctor, patient):
        await person.left_nothing_behind()
        await person.page.context.close()


@pytest.mark.slow
async def test_the_precheck_shows_reports_and_plays_the_echo(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
) -> None:
    from playwright.async_api import expect

    host = await server(precheck_seconds=4)
    http = http_to(host)
    consult = await consult_soon(http, database)
    patient = await open_page(chromium, host, consult["id"], consult["patient"])

    await patient.button("Check my connection").click()
    verdict = patient.page.locator("#precheck-verdict")
    await expect(verdict).to_have_text(
        re.compile(r"^(Your connection is good enough for video\.|Use audio only: .*)$"),
        timeout=WAIT_MS,
    )
    await expect(patient.page.locator("#report-kbps")).to_have_text(re.compile(r"^\d+ kbps$"))

    async def echoed() -> bool:
        check = (await patient.stats())["precheck"]
        return bool(check and check["framesDecoded"] > 0 and check["reports"] >= 1)

    await patient.wait_for(echoed, "the echoed video plays")
    await expect(patient.page.get_by_text("Connection check finished.")).to_be_visible(
        timeout=WAIT_MS
    )

    async def stored() -> list[dict[str, Any]]:
        response = await http.get(
            "/v1/consults/precheck/results", headers=bearer(consult["patient"])
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    [result] = await patient.wait_for(stored, "the result is kept")
    assert result["received_kbps"] > 0
    await patient.left_nothing_behind()
    await patient.page.context.close()


@pytest.mark.slow
async def test_the_page_speaks_spanish_to_a_spanish_browser(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
) -> None:
    from playwright.async_api import expect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    visitor = await open_page(chromium, host, consult["id"], locale="es-MX")
    page = visitor.page
    assert await page.evaluate("window.tequio.missingTexts()") == []
    assert await page.evaluate("document.documentElement.lang") == "es"
    await expect(page.get_by_role("heading", name="Consulta por video")).to_be_visible()
    await expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    # the form says which ways of writing a phone number work
    await expect(page.get_by_text("Su teléfono como lo escribe siempre")).to_be_visible()
    await expect(page.get_by_text("(213) 555-0100")).to_be_visible()

    # a refused sign-in shows the API's problem, in Spanish too
    expected = await http.post(
        "/v1/auth/token",
        json={"username": "nadie@example.org", "password": "no es la clave"},
        headers={"Accept-Language": "es"},
    )
    title = expected.json()["title"]
    await page.get_by_label("Correo o teléfono").fill("nadie@example.org")
    await page.get_by_label("Contraseña").fill("no es la clave")
    await visitor.button("Iniciar sesión").click()
    await expect(page.get_by_role("alert")).to_contain_text(title)
    assert expected.headers["content-language"] == "es"

    signed_in = await open_page(chromium, host, consult["id"], consult["patient"], locale="es-MX")
    page = signed_in.page
    await expect(signed_in.button("Entrar a la consulta")).to_be_visible()
    await expect(signed_in.button("Revisar mi conexión")).to_be_visible()
    await signed_in.button("English").click()
    await expect(signed_in.button("Join the consult")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "en"
    await signed_in.button("Español").click()
    await signed_in.button("Entrar a la consulta").click()
    await expect(
        page.get_by_text(f"Esperando a que {consult['doctor_name']} le deje pasar")
    ).to_be_visible()
    for button in ("Silenciar", "Solo audio", "Salir", "Enviar"):
        await expect(signed_in.button(button)).to_be_visible()

    for person in (visitor, signed_in):
        await person.left_nothing_behind()
        await person.page.context.close()


async def test_the_page_is_served_with_a_strict_policy_and_bad_ids_are_problems(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/consult/{uuid.uuid4()}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws://tequio.test wss://tequio.test"
    assert policy["media-src"] == "'self' blob: mediastream:"
    assert policy["img-src"] == "'self' data:"
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    # the script and style sheet it names are served, with a digest against stale caches
    for asset in re.findall(r'(?:src|href)="(/static/consult/[^"]+)"', response.text):
        served = await client.get(asset)
        assert served.status_code == 200 and re.search(r"\?v=[0-9a-f]{12}$", asset)

    odd_host = await client.get(f"/consult/{uuid.uuid4()}", headers={"Host": "a b; script-src *"})
    assert "connect-src 'self';" in odd_host.headers["content-security-policy"]

    for bad in ("not-a-uuid", "1' OR '1'='1", "%00"):
        refused = await client.get(f"/consult/{bad}", headers={"Accept-Language": "es"})
        assert 400 <= refused.status_code < 500
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["content-language"] == "es"
    assert "/consult/{appointment_id}" not in (await client.get("/openapi.json")).json()["paths"]


@pytest.mark.slow
async def test_consent_from_the_page_reaches_the_api_and_the_other_side(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
    tmp_path: Path,
) -> None:
    """Each person ticks their own consent; the doctor cannot record until everyone has; then
    the consult moves to the server relay, both see the recording indicator, and a withdrawal
    stops it at once."""
    from playwright.async_api import expect

    host = await server(**SMALL_RELAY, recordings_dir=tmp_path)
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor, patient = await both_in_the_room(chromium, host, http, consult)
    consents_url = f"/v1/appointments/{consult['id']}/consult/consents"

    await patient.page.get_by_label("I agree to this consult being recorded").check()
    await expect(doctor.page.locator("#consents")).to_have_text(f"Agreed to recording: {PATIENT}.")

    async def standing() -> set[str]:
        rows = (await http.get(consents_url, headers=bearer(consult["doctor"]))).json()["items"]
        return {row["account_id"] for row in rows if row["withdrawn_at"] is None}

    assert await standing() == {consult["patient_id"]}

    await doctor.button("Start recording").click()  # the doctor has not agreed yet
    await expect(doctor.page.get_by_role("alert")).to_contain_text(
        "Everyone must consent to recording"
    )
    await doctor.page.get_by_label("I agree to this consult being recorded").check()
    await expect(patient.page.locator("#consents")).to_contain_text(consult["doctor_name"])
    await doctor.button("Start recording").click()

    for person in (doctor, patient):  # recording moves the consult to the server relay
        await expect(person.page.get_by_text(RELAY_NOTE)).to_be_visible(timeout=WAIT_MS)
        await expect(person.page.locator("#recording")).to_be_visible(timeout=WAIT_MS)

    await patient.page.get_by_label("I agree to this consult being recorded").uncheck()
    for person in (doctor, patient):
        await expect(person.page.locator("#recording")).to_be_hidden(timeout=WAIT_MS)
    assert await standing() == {consult["doctor_id"]}

    for person in (doctor, patient):
        await person.left_nothing_behind()
        await person.page.context.close()


@pytest.mark.slow
async def test_the_server_relay_from_the_page_and_back_to_peer_to_peer(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
) -> None:
    """The doctor moves the consult to the server relay from the connection menu, and back;
    the patient has no such control."""
    from playwright.async_api import expect

    host = await server(**SMALL_RELAY)
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor, patient = await both_in_the_room(chromium, host, http, consult)
    await patient.wait_for(lambda: patient.frames_from(consult["doctor_id"]), "doctor's video")

    await expect(patient.page.get_by_text("Connection", exact=True)).to_be_hidden()
    await use_the_menu(doctor, "Send the video through the server")
    for person in (doctor, patient):
        await expect(person.page.get_by_text(RELAY_NOTE)).to_be_visible(timeout=WAIT_MS)
    await doctor.wait_for(lambda: _relayed(doctor), "the patient's video through the relay")
    await patient.wait_for(lambda: _relayed(patient), "the doctor's video through the relay")
    await expect(patient.button("Back to a direct connection")).to_be_hidden()  # the doctor's

    await use_the_menu(doctor, "Back to a direct connection")
    await expect(patient.page.get_by_text(RELAY_NOTE)).to_be_hidden()
    await doctor.wait_for(lambda: _direct(doctor, consult["patient_id"]), "direct video again")
    await patient.wait_for(lambda: _direct(patient, consult["doctor_id"]), "direct video again")

    for person in (doctor, patient):
        await person.left_nothing_behind()
        await person.page.context.close()


@pytest.mark.slow
async def test_after_a_reload_in_relay_mode_the_doctor_sees_the_patient_again(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,
) -> None:
    from playwright.async_api import expect

    host = await server(**SMALL_RELAY)
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor, patient = await both_in_the_room(chromium, host, http, consult)
    await use_the_menu(doctor, "Send the video through the server")
    await doctor.wait_for(lambda: _relayed(doctor), "the patient's video through the relay")

    await patient.page.reload()
    await patient.button("Join the consult").click()
    await expect(patient.page.get_by_text(RELAY_NOTE)).to_be_visible()
    await patient.wait_for(lambda: _relayed(patient), "the doctor's video after the reload")
    before = (await doctor.stats())["relay"]["framesDecoded"]
    await doctor.wait_for(
        lambda: _relayed(doctor, more_than=before + 5), "the patient's video again", seconds=10
    )
    for person in (doctor, patient):
        await person.page.context.close()


async def use_the_menu(person: Person, action: str) -> None:
    """The technical controls are in the connection menu, apart from the leave button."""
    await person.page.get_by_text("Connection", exact=True).click()
    await person.button(action).click()


async def _relayed(person: Person, more_than: int = 0) -> bool:
    relay = (await person.stats())["relay"]
    return bool(relay and relay["framesDecoded"] > more_than)


async def _direct(person: Person, other: str) -> bool:
    stats = await person.stats()
    return stats["relay"] is None and await person.frames_from(other) > 0
