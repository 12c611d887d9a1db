"""The prescription's print view in headless Chromium, served with its own headers (its Content
Security Policy must let its inline style and QR code through): the verification code and the QR
code are seen without scrolling on a phone (390×844) and a laptop (1280×800); printed, it fits
one sheet of Letter and of A4, also with ten medicines.

Screenshots go to `TEQUIO_SHOTS` when it is set (e.g. /work/notes/shots), for a person to look."""

import io
import os
from pathlib import Path
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from tests.app.test_consult_page import chromium  # noqa: F401  (the fixture)
from tests.factories import bearer
from tests.prescription_support import AMOXICILLIN, PARACETAMOL, consult_now, issued

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
BASE = "http://tequio.test"


async def _opened(
    chromium: Any,  # noqa: F811
    http: httpx.AsyncClient,
    path: str,
    tokens: dict[str, Any],
    viewport: dict[str, int],
) -> tuple[Any, list[str]]:
    """The page as a browser gets it from the API (status, headers, body), and what its
    console said (a style refused by the CSP is said there)."""
    context = await chromium.new_context(viewport=viewport, locale="es-MX")
    page = await context.new_page()
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))

    async def answer(route: Any) -> None:
        response = await http.get(path, headers=bearer(tokens))
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        await route.fulfill(status=response.status_code, headers=headers, body=response.content)

    await page.route(f"{BASE}{path}", answer)
    await page.goto(f"{BASE}{path}")
    return page, said


async def _in_view(page: Any, selector: str) -> None:
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and box["width"] > 0, selector
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"] + 0.5, (selector, box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (selector, box, size)


def _shot(name: str) -> str | None:
    folder = os.environ.get("TEQUIO_SHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return str(Path(folder) / name)


async def test_the_code_and_qr_are_seen_without_scrolling_and_it_prints_on_one_sheet(
    chromium: Any,  # noqa: F811
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    consult = await consult_now(client, sessionmaker, settings)
    ten = [AMOXICILLIN, PARACETAMOL] * 5
    for lines, label in (([AMOXICILLIN, PARACETAMOL], "two"), (ten, "ten")):
        prescription = await issued(client, consult, lines=lines)
        path = f"/v1/prescriptions/{prescription['id']}/print"
        for viewport, device in ((PHONE, "phone"), (LAPTOP, "laptop")):
            page, said = await _opened(chromium, client, path, consult["patient"], viewport)
            code = page.locator("#verification-code")
            assert await code.inner_text() == prescription["verification_code"]
            await _in_view(page, "#verification-code")
            await _in_view(page, "svg.qr")
            qr = await page.locator("svg.qr").bounding_box()
            assert qr is not None and qr["width"] >= 90  # big enough for a phone to scan
            green = await page.locator("h1").evaluate("e => getComputedStyle(e).color")
            assert green == "rgb(11, 93, 75)", "the inline style sheet was refused"
            assert not [s for s in said if "Content Security Policy" in s], said
            if shot := _shot(f"prescription-{label}-{device}.png"):
                await page.screenshot(path=shot, full_page=True)
            await page.context.close()
        page, _ = await _opened(chromium, client, path, consult["patient"], LAPTOP)
        for paper in ("Letter", "A4"):
            printed = await page.pdf(format=paper, print_background=True)
            assert len(PdfReader(io.BytesIO(printed)).pages) == 1, (label, paper)
        await page.context.close()
