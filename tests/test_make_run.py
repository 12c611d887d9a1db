"""`make run` on this checkout: it migrates, seeds the demo, and serves the API and its docs.

The browser test drives the docs page in Chromium like a newcomer would: Authorize with a demo
login, then call /v1/me, and no request may leave this machine.
"""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, ROOT

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workdir = tmp_path_factory.mktemp("make-run")
    port = _free_port()
    log = workdir / "make-run.log"
    env = {
        **os.environ,
        "TEQUIO_PORT": str(port),
        "TEQUIO_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'tequio.db'}",
        "XDG_STATE_HOME": str(workdir / "state"),  # where the server says it runs
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("make run did not become ready:\n" + log.read_text())
        yield base, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.slow
def test_make_run_serves_health_docs_and_the_demo(served: tuple[str, Path]) -> None:
    base, log = served
    assert httpx.get(f"{base}/healthz/ready").json() == {"status": "ok"}
    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Tequio API"
    assert "tequio-demo-2026" in log.read_text()  # the demo logins were printed
    token = httpx.post(
        f"{base}/v1/auth/token",
        data={"username": "+52 951 100 0002", "password": "tequio-demo-2026"},
    )
    assert token.status_code == 200
    rosa = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = httpx.get(f"{base}/v1/me", headers=rosa)
    assert me.json()["display_name"] == "Rosa Martínez"
    # the demo cooperative: bylaws in force, Rosa an owner with a rural household in Oaxaca
    assert httpx.get(f"{base}/v1/bylaws").json()["number"] == 1
    [home] = httpx.get(f"{base}/v1/households", headers=rosa).json()["items"]
    assert home["subdivision"] == "MX-OAX"
    fee = httpx.get(f"{base}/v1/households/{home['id']}/fee-class", headers=rosa).json()
    assert fee["code"] == "A"
    assert fee["explanation"]["table"] == "INEGI 2026-01, rural"
    # the doctors' hours are set: Rosa (in Oaxaca) finds a cardiologist who speaks Nahuatl
    page = httpx.get(
        f"{base}/v1/slots",
        params={"specialty": "cardiology", "language": "nah", "jurisdiction": "MX-OAX"},
        headers=rosa,
    ).json()
    doctors = {page["practitioners"][s["practitioner_id"]]["display_name"] for s in page["items"]}
    assert doctors == {"Dra. Ana López"}


@pytest.mark.slow
async def test_docs_authorize_and_try_me_in_chromium(served: tuple[str, Path]) -> None:
    if not HAVE_CHROMIUM:
        if IN_CI:
            pytest.fail("CI=true: the browser test needs Debian's chromium at /usr/bin/chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    base, _ = served
    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = await browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(f"{base}/docs")
            await page.get_by_text("Tequio API", exact=False).first.wait_for(timeout=30_000)

            await page.get_by_role("button", name="Authorize").first.click()
            await page.locator("#oauth_username").fill("admin@demo.tequio.coop")
            await page.locator("#oauth_password").fill("tequio-demo-2026")
            await page.locator(".auth-btn-wrapper button.authorize").click()
            dialog = page.locator(".auth-btn-wrapper").first
            signed_in = dialog.get_by_role("button", name="Remove authorization")  # "Logout"
            await signed_in.wait_for(timeout=15_000)
            await dialog.locator("button.btn-done").click()

            operation = page.locator("#operations-accounts-me_v1_me_get")
            for _ in range(60):  # Swagger UI renders the sections as they scroll into view
                if await operation.count():
                    break
                await page.mouse.wheel(0, 400)
                await page.wait_for_timeout(100)
            await operation.locator(".opblock-summary").click()
            await operation.get_by_role("button", name="Execute").click()
            status = operation.locator(".live-responses-table .response .response-col_status")
            await status.first.wait_for(timeout=15_000)
            assert (await status.first.inner_text()).strip() == "200"
            body = await operation.locator(".live-responses-table .microlight").first.inner_text()
            assert "Admin Tequio" in body
        finally:
            await browser.close()
    foreign = [url for url in requested if not url.startswith(base)]
    assert foreign == []


def _tequio(*args: str, cwd: Path, state: Path) -> str:
    """`tequio …` as a newcomer runs it in a second terminal: another folder, none of the
    server's settings, only the same user (and, in a test run moved in time, the same clock)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEQUIO_")}
    if "TEQUIO_CLOCK_OFFSET_SECONDS" in os.environ:
        env["TEQUIO_CLOCK_OFFSET_SECONDS"] = os.environ["TEQUIO_CLOCK_OFFSET_SECONDS"]
    env["XDG_STATE_HOME"] = str(state)
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "tequio"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _sign_in(base: str, username: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/v1/auth/token", data={"username": username, "password": "tequio-demo-2026"}
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.mark.slow
def test_the_readme_journeys_work_against_make_run(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """The README's walk-through, at whatever hour the clock says: Rosa's household, fee and
    dues; the treasurer's queue with Juan's remittance and her rate; Juan, the sponsor, owes
    this month's dues and reports a payment at once; the open resolution; the slot search;
    the logins printed again on a later start; and `tequio demo-consult` from another folder
    books on the running server's database and prints the running server's pages."""
    base, log = served
    state = log.parent / "state"
    rosa = _sign_in(base, "+52 951 100 0002")
    [home] = httpx.get(f"{base}/v1/households", headers=rosa).json()["items"]
    fee = httpx.get(f"{base}/v1/households/{home['id']}/fee-class", headers=rosa).json()
    assert fee["code"] == "A"
    assert httpx.get(f"{base}/v1/dues", headers=rosa).json()["items"]  # this month's, paid

    carmen = _sign_in(base, "tesoreria@demo.tequio.coop")
    queue = httpx.get(f"{base}/v1/payments", params={"status": "reported"}, headers=carmen)
    assert [p["currency"] for p in queue.json()["items"]] == ["USD"]  # Juan's remittance
    assert httpx.get(f"{base}/v1/exchange-rates", headers=carmen).json()["items"]

    juan = _sign_in(base, "juan.garcia@demo.tequio.coop")
    invoices = httpx.get(f"{base}/v1/dues", headers=juan).json()["items"]
    owed = [i for i in invoices if i["kind"] == "dues" and i["outstanding_minor"] > 0]
    assert owed, "the demo's dues run invoiced the household Juan sponsors"
    reported = httpx.post(
        f"{base}/v1/payments",
        json={
            "amount_minor": 1000,
            "currency": "USD",
            "method": "remittance",
            "reference": "MTCN 0000000001",
            "household_id": owed[0]["household_id"],
        },
        headers={**juan, "Idempotency-Key": "readme-journey-1"},
    )
    assert reported.status_code == 201, reported.text

    proposals = httpx.get(f"{base}/v1/proposals", headers=rosa).json()["items"]
    assert any(p["status"] == "open" for p in proposals)

    # every later start prints the logins again (make run runs `tequio demo --if-empty`)
    env_db = f"sqlite+aiosqlite:///{log.parent / 'tequio.db'}"
    restarted = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "tequio"), "demo", "--if-empty"],
        cwd=ROOT,
        env={**os.environ, "TEQUIO_DATABASE_URL": env_db},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "tequio-demo-2026" in restarted and "+529511000002" in restarted

    # the consult page from a second terminal, in another folder, with none of the settings
    printed = _tequio("demo-consult", cwd=tmp_path, state=state)
    page = next(word for word in printed.split() if "/consult/" in word)
    assert page.startswith(base + "/consult/")
    appointment_id = page.rsplit("/", 1)[1]
    seen = httpx.get(f"{base}/v1/appointments/{appointment_id}", headers=rosa)
    assert seen.status_code == 200, seen.text  # booked on the server's own database
    assert httpx.get(page).status_code == 200
