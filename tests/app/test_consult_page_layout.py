"""What the consult page shows without scrolling, on the patient's phone (390×844) and the
doctor's laptop (1280×800), in headless Chromium with a fake camera: with whom and when, the
pre-call verdict in plain words, the other person filling the screen, the admit control, the
leave button; a countdown before the room opens; another language leaving nothing behind; the
page moving to the server relay by itself when the direct path fails.

Screenshots go to `TEQUIO_SHOTS` when it is set (e.g. /work/notes/shots), for a person to look."""

import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.app.test_consult_page import (
    PATIENT,
    WAIT_MS,
    Person,
    chromium,  # noqa: F401  (the fixture)
)
from tests.conftest import Database
from tests.consult_support import consult_soon
from tests.factories import PASSWORD, bearer, signed_up

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


async def opened(
    chromium: Any,  # noqa: F811
    host: str,
    consult_id: str,
    viewport: dict[str, int],
    tokens: dict[str, Any] | None = None,
    locale: str = "en-US",
) -> Person:
    context = await chromium.new_context(locale=locale, viewport=viewport)
    page = await context.new_page()
    person = Person(page, f"http://{host}/")
    page.on("request", lambda request: person.requested.append(request.url))
    page.on("pageerror", lambda error: person.errors.append(str(error)))
    page.on("console", lambda message: person.console.append(message.text))
    fragment = f"#access_token={tokens['access_token']}" if tokens else ""
    await page.goto(f"http://{host}/consult/{consult_id}{fragment}")
    return person


async def in_view(person: Person, locator: Any) -> None:
    """Visible on the first screen: no scrolling needed to see all of it."""
    from playwright.async_api import expect

    await expect(locator).to_be_visible(timeout=WAIT_MS)
    box = await locator.bounding_box()
    size = person.page.viewport_size
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"] + 0.5, (box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (box, size)


LARGEST_VIDEO = """() => {
  const shown = [...document.querySelectorAll("video")]
    .map((video) => ({ video, box: video.getBoundingClientRect() }))
    .filter(({ video, box }) => box.width > 0 && video.checkVisibility());
  shown.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  const [first, second] = shown;
  const view = { width: innerWidth, height: innerHeight };
  const area = (b) => Math.max(0, Math.min(b.right, view.width) - Math.max(b.left, 0)) *
    Math.max(0, Math.min(b.bottom, view.height) - Math.max(b.top, 0));
  return {
    account: first.video.closest("figure")?.dataset.account || first.video.id,
    playing: first.video.videoWidth > 0,
    share: area(first.box) / (view.width * view.height),
    next: second
      ? (second.box.width * second.box.height) / (first.box.width * first.box.height)
      : 0,
  };
}"""


async def largest_video(person: Person) -> dict[str, Any]:
    found: dict[str, Any] = await person.page.evaluate(LARGEST_VIDEO)
    return found


async def shot(person: Person, name: str) -> None:
    folder = os.environ.get("TEQUIO_SHOTS")
    if folder:  # Playwright makes the folder
        await person.page.screenshot(path=str(Path(folder) / f"{name}.png"))


def hour_and_minute(moment: datetime, zone: str) -> str:
    """As en-US writes it: 9:05 AM."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.hour % 12 or 12}:{local.minute:02d}\u202f{'AM' if local.hour < 12 else 'PM'}"


@pytest.mark.slow
async def test_the_phone_and_the_laptop_show_what_matters_without_scrolling(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    from playwright.async_api import expect

    host = await server(precheck_seconds=3)
    http = http_to(host)
    consult = await consult_soon(http, database)
    card = (
        await http.get(
            f"/v1/appointments/{consult['id']}/consult", headers=bearer(consult["doctor"])
        )
    ).json()
    start = datetime.fromisoformat(card["start"])
    doctor = await opened(chromium, host, consult["id"], LAPTOP, consult["doctor"])
    patient = await opened(chromium, host, consult["id"], PHONE)
    email = (await http.get("/v1/me", headers=bearer(consult["patient"]))).json()["email"]
    await patient.page.get_by_label("Email or phone").fill(email)
    await patient.page.get_by_label("Password").fill(PASSWORD)
    await patient.button("Sign in").click()

    # with whom and when, on the first screen of each
    await in_view(patient, patient.page.get_by_text(f"Consult with {consult['doctor_name']}"))
    await in_view(patient, patient.page.get_by_text("Family medicine", exact=True))
    when = patient.page.locator("#appt-when")
    await in_view(patient, when)
    await expect(when).to_contain_text(hour_and_minute(start, "America/Mexico_City"))
    await expect(when).to_contain_text(
        start.astimezone(ZoneInfo("America/Mexico_City")).strftime("%B %-d, %Y")
    )
    await expect(patient.page.locator("#appt-room")).to_have_text("The room is open: you can join.")
    await in_view(doctor, doctor.page.get_by_text(f"Consult with {PATIENT}"))
    await shot(patient, "phone-patient-lobby")
    await shot(doctor, "laptop-doctor-lobby")

    # the pre-call check: the verdict in plain words leads, the figures wait behind Details
    await patient.button("Check my connection").click()
    verdict = patient.page.locator("#precheck-verdict")
    await expect(verdict).to_have_text(
        re.compile(r"^(Your connection is good enough for video\.|Use audio only: .*)$"),
        timeout=WAIT_MS,
    )
    await in_view(patient, verdict)
    await expect(patient.page.locator("#report-kbps")).to_have_text(re.compile(r"^\d+ kbps$"))
    await expect(patient.page.locator("#report-kbps")).to_be_hidden()
    await shot(patient, "phone-patient-precheck")
    await patient.page.get_by_text("Details", exact=True).click()
    await expect(patient.page.locator("#report-kbps")).to_be_visible()
    await expect(patient.page.get_by_text("Connection check finished.")).to_be_visible(
        timeout=WAIT_MS
    )

    # the doctor waits in the room; the patient arrives: a bar, the tab's title, a sound
    await doctor.button("Join the consult").click()
    await expect(doctor.page.get_by_text("Nobody else is here yet.")).to_be_visible()
    await patient.button("Join the consult").click()
    admit = doctor.button(f"Admit {PATIENT}")
    await in_view(doctor, admit)
    await in_view(doctor, doctor.page.get_by_text(f"{PATIENT} is waiting to come in."))
    await expect(doctor.page).to_have_title("(1) Waiting — Tequio")
    assert (await doctor.page.evaluate("window.tequio.state()"))["beeps"] >= 1
    await shot(doctor, "laptop-doctor-someone-waits")
    await shot(patient, "phone-patient-waiting")
    await in_view(patient, patient.page.get_by_text(f"Waiting for {consult['doctor_name']}"))
    await admit.click()
    await expect(doctor.page).to_have_title("Tequio — video consult")
    await expect(admit).to_be_hidden()

    # each sees the other large, their own preview small; leave in view, no relay button
    await patient.wait_for(lambda: patient.frames_from(consult["doctor_id"]), "doctor's video")
    await doctor.wait_for(lambda: doctor.frames_from(consult["patient_id"]), "patient's video")
    for person, other, share in (
        (patient, consult["doctor_id"], 0.5),
        (doctor, consult["patient_id"], 0.35),
    ):

        async def other_large(person: Person = person, other: str = other) -> bool:
            found = await largest_video(person)
            return bool(found["account"] == other and found["playing"])

        await person.wait_for(other_large, "the other person's video is the largest")
        largest = await largest_video(person)
        assert largest["share"] >= share, largest  # of the first screen
        assert largest["next"] <= 0.15, largest  # the own preview is small
        await in_view(person, person.page.locator(f'figure[data-account="{other}"] video'))
        await in_view(person, person.page.locator("#local-video"))
        await in_view(person, person.button("Leave"))
        await in_view(person, person.button("Mute"))
        await expect(person.page.get_by_role("button", name=re.compile("server"))).to_be_hidden()
    for person, name in ((patient, consult["doctor_name"]), (doctor, PATIENT)):
        await in_view(person, person.page.locator("#room-with"))
        await expect(person.page.locator("#room-with")).to_contain_text(name)
        await expect(person.page.locator("#room-with")).to_contain_text(
            hour_and_minute(start, "America/Mexico_City")
        )
    await shot(patient, "phone-patient-in-call")
    await shot(doctor, "laptop-doctor-in-call")

    for person in (doctor, patient):
        await person.left_nothing_behind()
        await person.page.context.close()


@pytest.mark.slow
async def test_joining_too_early_shows_when_the_room_opens_with_a_countdown(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    """Her consult starts in 40 minutes; the room opens 15 minutes before. The doctor works
    from Tijuana, two hours behind her: the page gives both times."""
    from playwright.async_api import expect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(
        http, database, starts_in=timedelta(minutes=40), doctor_timezone="America/Tijuana"
    )
    patient = await opened(chromium, host, consult["id"], PHONE, consult["patient"])
    page = patient.page
    room = page.locator("#appt-room")
    await expect(room).to_have_text(re.compile(r"^The room opens in 2[45]:\d\d, at "))
    first = await room.text_content()
    await expect(room).not_to_have_text(first or "", timeout=3000)  # it counts down
    await in_view(patient, room)
    await expect(patient.button("Join the consult")).to_be_disabled()
    card = (
        await http.get(
            f"/v1/appointments/{consult['id']}/consult", headers=bearer(consult["patient"])
        )
    ).json()
    opens = datetime.fromisoformat(card["room_opens_at"])
    await expect(room).to_contain_text(hour_and_minute(opens, "America/Mexico_City"))
    start = datetime.fromisoformat(card["start"])
    other = page.locator("#appt-other-when")
    await expect(other).to_contain_text(hour_and_minute(start, "America/Tijuana"))
    await expect(other).to_contain_text(f"for {consult['doctor_name']}")
    await in_view(patient, other)
    await shot(patient, "phone-patient-too-early")

    await page.get_by_role("button", name="Español").click()
    await expect(room).to_have_text(re.compile(r"^La sala abre en 2[45]:\d\d, a las? "))
    await patient.left_nothing_behind()
    await page.context.close()


def _only_english(english: list[str], spanish: list[str]) -> list[str]:
    """Pieces of the English texts (around their placeholders) that no Spanish text has."""
    pieces = set()
    for text in english:
        for piece in re.split(r"\{\w+\}", text):
            piece = piece.strip(" .,:;()…")
            if len(piece) >= 5 and not any(piece in other for other in spanish):
                pieces.add(piece)
    return sorted(pieces)


@pytest.mark.slow
async def test_switching_language_leaves_no_text_of_the_other_behind(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    from playwright.async_api import expect

    host = await server(precheck_seconds=3)
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor = await opened(chromium, host, consult["id"], LAPTOP, consult["doctor"])
    patient = await opened(chromium, host, consult["id"], PHONE, consult["patient"])
    page = patient.page
    await patient.button("Check my connection").click()
    await expect(page.get_by_text("Connection check finished.")).to_be_visible(timeout=WAIT_MS)
    await doctor.button("Join the consult").click()
    await patient.button("Join the consult").click()
    await doctor.button(f"Admit {PATIENT}").click(timeout=WAIT_MS)
    await expect(page.get_by_text("The doctor let you in.")).to_be_visible()
    await page.get_by_label("Message").fill("Hola")
    await patient.button("Send").click()
    await doctor.page.get_by_label("Message").fill("Buenos días")
    await doctor.button("Send").click()
    await expect(page.locator("#chat-log")).to_contain_text(f"{consult['doctor_name']}: Buenos")
    await expect(page.locator("#chat-log")).to_contain_text("You: Hola")

    english = await page.evaluate("window.tequio.texts('en')")
    spanish = await page.evaluate("window.tequio.texts('es')")
    await page.get_by_role("button", name="Español").click()
    await expect(page.locator("#chat-log")).to_contain_text("Usted: Hola")
    seen = await page.evaluate("document.body.innerText + ' ' + document.title")
    left = [piece for piece in _only_english(english, spanish) if piece in seen]
    assert left == [], (left, seen)
    await expect(page.locator("#status")).not_to_be_empty()
    await shot(patient, "phone-patient-in-call-es")

    await page.get_by_role("button", name="English").click()
    seen = await page.evaluate("document.body.innerText + ' ' + document.title")
    left = [piece for piece in _only_english(spanish, english) if piece in seen]
    assert left == [], (left, seen)
    for person in (doctor, patient):
        await person.left_nothing_behind()
        await person.page.context.close()


@pytest.mark.slow
async def test_when_the_direct_path_never_comes_up_the_page_moves_to_the_relay(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    """The patient's ICE candidates are lost both ways (as behind a strict firewall): no direct
    path can form. Nobody presses anything; the consult goes through the server relay."""
    from playwright.async_api import expect

    host = await server(
        relay_video_max_width=160, relay_video_max_height=120, relay_video_max_fps=10
    )
    http = http_to(host)
    consult = await consult_soon(http, database)
    doctor = await opened(chromium, host, consult["id"], LAPTOP, consult["doctor"])
    patient = await opened(chromium, host, consult["id"], PHONE, consult["patient"])

    def no_candidates(ws: Any) -> None:
        server_side = ws.connect_to_server()

        def outward(message: str | bytes) -> None:
            if json.loads(message).get("type") != "candidate":
                server_side.send(message)

        def inward(message: str | bytes) -> None:
            if json.loads(message).get("type") != "candidate":
                ws.send(message)

        ws.on_message(outward)
        server_side.on_message(inward)

    await patient.page.route_web_socket(re.compile(r".*/signal\?.*"), no_candidates)
    await doctor.button("Join the consult").click()
    await patient.button("Join the consult").click()
    await doctor.button(f"Admit {PATIENT}").click(timeout=WAIT_MS)

    for person in (doctor, patient):
        await expect(
            person.page.get_by_text("Video goes through the cooperative's server")
        ).to_be_visible(timeout=30_000)

    async def said_why() -> bool:  # by whichever page noticed first
        texts = [await p.page.locator("#status").text_content() for p in (doctor, patient)]
        return any("The direct connection did not work" in (text or "") for text in texts)

    await patient.wait_for(said_why, "the page says why the video goes through the server")

    async def relayed(person: Person) -> bool:
        relay = (await person.stats())["relay"]
        return bool(relay and relay["framesDecoded"] > 0)

    await patient.wait_for(lambda: relayed(patient), "the doctor's video through the relay")
    await doctor.wait_for(lambda: relayed(doctor), "the patient's video through the relay")
    states = [await p.page.evaluate("window.tequio.state()") for p in (doctor, patient)]
    assert sum(s["autoRelayed"] for s in states) >= 1
    found = await largest_video(patient)
    assert found["account"] == consult["doctor_id"], found
    await shot(patient, "phone-patient-relayed")
    for person in (doctor, patient):
        await person.page.context.close()


@pytest.mark.slow
async def test_with_an_interpreter_the_doctor_is_large_and_the_interpreter_a_thumbnail(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    """Three in the consult: on the patient's phone the doctor fills the stage and the
    interpreter is a thumbnail. (Who speaks becoming large is not asserted here: under the
    whole suite's load the fake microphones' levels did not move the stage reliably.)"""
    from playwright.async_api import expect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database)
    interpreter_account, interpreter_tokens = await signed_up(
        http, display_name="Intérprete mixteco"
    )
    invited = await http.post(
        f"/v1/appointments/{consult['id']}/consult/interpreters",
        json={"account_id": interpreter_account["id"]},
        headers=bearer(consult["doctor"]),
    )
    assert invited.status_code == 200, invited.text
    doctor = await opened(chromium, host, consult["id"], LAPTOP, consult["doctor"])
    patient = await opened(chromium, host, consult["id"], PHONE, consult["patient"])
    interpreter = await opened(chromium, host, consult["id"], LAPTOP, interpreter_tokens)
    await doctor.button("Join the consult").click()
    for person in (patient, interpreter):
        await person.button("Join the consult").click()
    await interpreter.button("Mute").click()
    await expect(doctor.page).to_have_title("(2) Waiting — Tequio", timeout=WAIT_MS)
    await doctor.button(f"Admit {PATIENT}").click()
    await doctor.button("Admit Intérprete mixteco").click()

    thumbnail = patient.page.locator(f'figure[data-account="{interpreter_account["id"]}"]')

    async def doctor_large_interpreter_small() -> bool:
        found = await largest_video(patient)
        return bool(
            found["account"] == consult["doctor_id"]
            and found["playing"]
            and found["next"] <= 0.15
            and await thumbnail.count()
        )

    await patient.wait_for(doctor_large_interpreter_small, "the doctor large, the rest small")
    await in_view(patient, thumbnail)
    await expect(thumbnail).to_contain_text("Intérprete mixteco")
    await in_view(patient, patient.button("Leave"))
    await shot(patient, "phone-patient-three-in-call")

    for person in (doctor, patient, interpreter):
        await person.left_nothing_behind()
        await person.page.context.close()


@pytest.mark.slow
async def test_before_her_first_consult_she_reads_the_consent_on_the_page_and_joins(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
    chromium: Any,  # noqa: F811
) -> None:
    """No browser dialog: the consent to be seen remotely opens in the lobby, in her
    language, with its answer on the first screen of her phone. "Not now" keeps her in the
    lobby and records nothing; agreeing records the version she read and lets her in."""
    from playwright.async_api import expect

    host = await server()
    http = http_to(host)
    consult = await consult_soon(http, database, consented=False)
    mine = "/v1/me/telehealth-consents"
    for viewport, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
        patient = await opened(chromium, host, consult["id"], viewport, consult["patient"], "es-MX")
        page = patient.page
        dialogs: list[str] = []  # a browser dialog would be a failure: none may open
        page.on("dialog", lambda dialog, seen=dialogs: seen.append(dialog.message))
        await patient.button("Entrar a la consulta").click()
        panel = page.locator("#remote-consent")
        await expect(panel.get_by_role("heading")).to_have_text("Antes de su primera consulta")
        await expect(panel).to_contain_text("NOM-004-SSA3-2012")
        assert await panel.locator("li").count() >= 3  # its numbered points, as a list
        await in_view(patient, patient.button("Acepto, entrar"))
        await in_view(patient, patient.button("Ahora no"))
        await expect(patient.button("Entrar a la consulta")).to_be_hidden()
        await shot(patient, f"{name}-patient-remote-consent")
        if name == "phone":
            await patient.button("Ahora no").click()
            await expect(page.get_by_role("alert")).to_have_text(
                "Podrá entrar cuando acepte la atención a distancia."
            )
            await expect(patient.button("Entrar a la consulta")).to_be_visible()
            given = await http.get(mine, headers=bearer(consult["patient"]))
            assert given.json()["items"] == []
        else:
            await page.get_by_role("button", name="English").click()  # reads it in English
            await expect(panel).to_contain_text("911")
            await patient.button("I agree, join").click()
            await expect(page.locator("#room")).to_be_visible(timeout=WAIT_MS)
            [given] = (await http.get(mine, headers=bearer(consult["patient"]))).json()["items"]
            assert (given["version"], given["language"]) == (1, "en")
        assert dialogs == []
        await patient.left_nothing_behind()
        await page.context.close()
