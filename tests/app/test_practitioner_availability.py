"""A doctor's availability through the API: wall-clock times without offsets, whole windows,
extra windows and time off listed and deleted, and stored rows that cannot break anyone's search."""

import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock
from telehealth.practitioners.models import (
    AvailabilityWindow,
    ExtraWindow,
    Practitioner,
    TimeOff,
)
from telehealth.scheduling import openings
from tests.factories import bearer, book, open_slots, practitioner, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")

ZONE = "America/Mexico_City"
MORNING = [{"weekday": day, "start": "09:00", "end": "12:00"} for day in range(7)]


def _local_today(zone: str = ZONE) -> date:
    return clock.now().astimezone(ZoneInfo(zone)).date()


@pytest.fixture
async def doctor(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A doctor in Mexico City with no weekly windows: every slot comes from what a test adds."""
    return await practitioner(client, admin, sessionmaker, settings, windows=[], timezone=ZONE)


async def _slots_on(
    client: httpx.AsyncClient, tokens: dict[str, Any], doctor_id: str, day: date
) -> list[str]:
    """The doctor's open slots on `day`, as local wall times in the doctor's zone."""
    found = await open_slots(
        client, tokens, timezone=ZONE, **{"from": day.isoformat(), "to": day.isoformat()}
    )
    return [s["start"][11:16] for s in found if s["practitioner_id"] == doctor_id]


def _extra(day: date, start: str = "10:00", end: str = "12:00") -> dict[str, str]:
    return {"day": day.isoformat(), "start": start, "end": end}


# ---- wall-clock times -------------------------------------------------------------------------


async def test_a_window_sent_with_utc_offsets_is_refused_and_breaks_nothing(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """The issue's request: before, it was stored as 16:00-09:00 and every search was a 500."""
    profile, doctor_tokens = doctor
    day = _local_today() + timedelta(days=3)
    response = await client.post(
        f"/v1/practitioners/{profile['id']}/extra-windows",
        json={"day": day.isoformat(), "start": "16:00:00+05:00", "end": "09:00:00-10:00"},
        headers={**bearer(doctor_tokens), "Accept-Language": "en"},
    )
    assert response.status_code == 422, response.text
    problems = {e["field"]: e for e in response.json()["errors"]}
    assert {problems["body.start"]["code"], problems["body.end"]["code"]} == {"wall_time_offset"}
    assert "without a UTC offset" in problems["body.start"]["message"]

    spanish = await client.post(
        f"/v1/practitioners/{profile['id']}/extra-windows",
        json={"day": day.isoformat(), "start": "16:00Z", "end": "18:00"},
        headers={**bearer(doctor_tokens), "Accept-Language": "es"},
    )
    assert spanish.status_code == 422
    [problem] = spanish.json()["errors"]
    assert problem["field"] == "body.start"
    assert "sin desfase UTC" in problem["message"]

    _, patient = await signed_up(client)
    assert await _slots_on(client, patient, profile["id"], day) == []
    listed = await client.get(
        f"/v1/practitioners/{profile['id']}/extra-windows", headers=bearer(doctor_tokens)
    )
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "start",
    ["09:00+00:00", "09:00:00-06:00", "09:00z", "9:00", "09:00:00.5", "24:00", "09h00", 540, None],
)
async def test_weekly_window_times_are_hh_mm_or_hh_mm_ss_only(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]], start: object
) -> None:
    profile, doctor_tokens = doctor
    response = await client.put(
        f"/v1/practitioners/{profile['id']}/availability",
        json={"windows": [{"weekday": 0, "start": start, "end": "12:00"}]},
        headers=bearer(doctor_tokens),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [problem] = response.json()["errors"]
    assert problem["field"] == "body.windows.0.start"


async def test_weekly_windows_in_hh_mm_and_hh_mm_ss_offer_their_slots(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, doctor_tokens = doctor
    day = _local_today() + timedelta(days=3)
    response = await client.put(
        f"/v1/practitioners/{profile['id']}/availability",
        json={
            "windows": [
                {"weekday": day.weekday(), "start": "09:00", "end": "10:00"},
                {"weekday": day.weekday(), "start": "16:00:00", "end": "17:00:00"},
            ]
        },
        headers=bearer(doctor_tokens),
    )
    assert response.status_code == 200, response.text
    assert response.json()["windows"] == [
        {"weekday": day.weekday(), "start": "09:00:00", "end": "10:00:00"},
        {"weekday": day.weekday(), "start": "16:00:00", "end": "17:00:00"},
    ]
    _, patient = await signed_up(client)
    slots = await _slots_on(client, patient, profile["id"], day)
    assert slots == ["09:00", "09:30", "16:00", "16:30"]


@pytest.mark.parametrize(
    ("windows", "code"),
    [
        ([{"weekday": 0, "start": "16:00", "end": "09:00"}], "window"),
        ([{"weekday": 0, "start": "09:00", "end": "09:00"}], "window"),
        (
            [
                {"weekday": 0, "start": "09:00", "end": "12:00"},
                {"weekday": 0, "start": "09:00", "end": "12:00"},
            ],
            "duplicate_window",
        ),
        ([{"weekday": 7, "start": "09:00", "end": "12:00"}], "less_than_equal"),
    ],
)
async def test_weekly_windows_are_whole_and_given_once(
    client: httpx.AsyncClient,
    doctor: tuple[dict[str, Any], dict[str, Any]],
    windows: list[dict[str, Any]],
    code: str,
) -> None:
    profile, doctor_tokens = doctor
    response = await client.put(
        f"/v1/practitioners/{profile['id']}/availability",
        json={"windows": windows},
        headers={**bearer(doctor_tokens), "Accept-Language": "es"},
    )
    assert response.status_code == 422, response.text
    assert [e["code"] for e in response.json()["errors"]] == [code]
    assert all(e["message"] for e in response.json()["errors"])


async def test_extra_windows_are_within_a_year_from_today_and_added_once(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, doctor_tokens = doctor
    path = f"/v1/practitioners/{profile['id']}/extra-windows"
    today = _local_today()
    for day in (today - timedelta(days=1), today + timedelta(days=366), date(9999, 12, 31)):
        refused = await client.post(path, json=_extra(day), headers=bearer(doctor_tokens))
        assert refused.status_code == 422, (day, refused.text)
        assert refused.json()["type"].endswith("/extra-window-out-of-range")
    backwards = await client.post(
        path, json=_extra(today, "12:00", "10:00"), headers=bearer(doctor_tokens)
    )
    assert [e["code"] for e in backwards.json()["errors"]] == ["window"]
    for day in (today, today + timedelta(days=365)):
        added = await client.post(path, json=_extra(day), headers=bearer(doctor_tokens))
        assert added.status_code == 201, added.text
    again = await client.post(path, json=_extra(today), headers=bearer(doctor_tokens))
    assert again.status_code == 409
    assert again.json()["type"].endswith("/duplicate-window")
    listed = (await client.get(path, headers=bearer(doctor_tokens))).json()["items"]
    assert [w["day"] for w in listed] == [today.isoformat(), (today + timedelta(365)).isoformat()]


async def test_time_off_still_matters_and_ends_within_a_year(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, doctor_tokens = doctor
    path = f"/v1/practitioners/{profile['id']}/time-off"
    now = clock.now()
    for start, end in (
        (now - timedelta(days=10), now - timedelta(days=9)),  # over: it changes nothing
        (now - timedelta(days=3), now + timedelta(days=1)),  # starts long ago
        (now + timedelta(days=1), now + timedelta(days=400)),  # beyond any horizon
        (now + timedelta(days=5000), now + timedelta(days=5001)),
    ):
        body = {"start": start.isoformat(), "end": end.isoformat()}
        refused = await client.post(path, json=body, headers=bearer(doctor_tokens))
        assert refused.status_code == 422, (start, refused.text)
        assert refused.json()["type"].endswith("/time-off-out-of-range")
    recent = {
        "start": (now - timedelta(hours=3)).isoformat(),
        "end": (now + timedelta(days=2)).isoformat(),
    }
    assert (await client.post(path, json=recent, headers=bearer(doctor_tokens))).status_code == 201


async def test_openapi_documents_wall_times_as_what_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    """Schema-driven clients and fuzzers read `format: time` as RFC 3339's, with an offset."""
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for model in ("WindowIn", "ExtraWindowIn", "WindowPublic", "ExtraWindowPublic"):
        for field in ("start", "end"):
            schema = schemas[model]["properties"][field]
            assert schema["type"] == "string", (model, field)
            assert "format" not in schema, (model, field)
            assert schema["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
            assert schema["examples"], (model, field)
            assert "practitioner" in schema["description"], (model, field)
    assert '"format": "time"' not in str(spec).replace("'", '"')


# ---- listing and deleting ---------------------------------------------------------------------


async def test_the_doctor_lists_and_deletes_extra_windows_and_nobody_else_sees_them(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    doctor: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    profile, doctor_tokens = doctor
    _, other_doctor = await practitioner(client, admin, sessionmaker, settings)
    _, patient = await signed_up(client)
    path = f"/v1/practitioners/{profile['id']}/extra-windows"
    day = _local_today() + timedelta(days=4)
    added = await client.post(path, json=_extra(day), headers=bearer(doctor_tokens))
    assert added.status_code == 201, added.text
    window = added.json()
    assert (window["day"], window["start"], window["end"], window["valid"]) == (
        day.isoformat(),
        "10:00:00",
        "12:00:00",
        True,
    )
    assert await _slots_on(client, patient, profile["id"], day) == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    for tokens in (doctor_tokens, admin):
        listed = await client.get(path, headers=bearer(tokens))
        assert [w["id"] for w in listed.json()["items"]] == [window["id"]]
    for outsider in (other_doctor, patient):
        assert (await client.get(path, headers=bearer(outsider))).status_code == 404
    refused = await client.delete(f"{path}/{window['id']}", headers=bearer(other_doctor))
    assert refused.status_code == 404
    unknown = await client.delete(f"{path}/{uuid.uuid4()}", headers=bearer(doctor_tokens))
    assert unknown.status_code == 404

    deleted = await client.delete(f"{path}/{window['id']}", headers=bearer(doctor_tokens))
    assert deleted.status_code == 204
    assert await _slots_on(client, patient, profile["id"], day) == []
    assert (await client.get(path, headers=bearer(doctor_tokens))).json()["items"] == []
    again = await client.delete(f"{path}/{window['id']}", headers=bearer(doctor_tokens))
    assert again.status_code == 404


async def test_extra_windows_are_listed_a_page_at_a_time(
    client: httpx.AsyncClient, doctor: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    profile, doctor_tokens = doctor
    path = f"/v1/practitioners/{profile['id']}/extra-windows"
    days = [_local_today() + timedelta(days=n) for n in range(1, 6)]
    for day in days:
        added = await client.post(path, json=_extra(day), headers=bearer(doctor_tokens))
        assert added.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params, headers=bearer(doctor_tokens))).json()
        seen += [w["day"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [d.isoformat() for d in days]


async def test_the_doctor_lists_and_deletes_time_off_and_its_hours_come_back(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    doctor: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    profile, doctor_tokens = doctor
    _, other_doctor = await practitioner(client, admin, sessionmaker, settings)
    _, patient = await signed_up(client)
    day = _local_today() + timedelta(days=4)
    await client.post(
        f"/v1/practitioners/{profile['id']}/extra-windows",
        json=_extra(day),
        headers=bearer(doctor_tokens),
    )
    path = f"/v1/practitioners/{profile['id']}/time-off"
    zone = ZoneInfo(ZONE)
    off = {
        "start": datetime.combine(day, time(10), zone).isoformat(),
        "end": datetime.combine(day, time(11), zone).isoformat(),
        "reason": "cita médica personal",
    }
    added = await client.post(path, json=off, headers=bearer(doctor_tokens))
    assert added.status_code == 201, added.text
    assert await _slots_on(client, patient, profile["id"], day) == ["11:00", "11:30"]
    listed = (await client.get(path, headers=bearer(doctor_tokens))).json()["items"]
    assert [(t["id"], t["reason"], t["valid"]) for t in listed] == [
        (added.json()["id"], "cita médica personal", True)
    ]
    for outsider in (other_doctor, patient):
        assert (await client.get(path, headers=bearer(outsider))).status_code == 404
    refused = await client.delete(f"{path}/{added.json()['id']}", headers=bearer(other_doctor))
    assert refused.status_code == 404
    deleted = await client.delete(f"{path}/{added.json()['id']}", headers=bearer(admin))
    assert deleted.status_code == 204
    assert await _slots_on(client, patient, profile["id"], day) == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


# ---- rows already stored ----------------------------------------------------------------------


async def _rebuild(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """What `tequio slots rebuild` does: rows written by hand (or a zone the zone database
    dropped) take effect once the open slots are laid out again."""
    async with sessionmaker() as session:
        await openings.lay_out_all(session)
        await session.commit()


async def test_a_bad_stored_row_costs_its_own_slots_and_nothing_else(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows stored before the checks (or by hand): search, booking, reschedule and profiles
    all work, the rows offer nothing, and each is logged by id."""
    profile, doctor_tokens = await practitioner(
        client, admin, sessionmaker, settings, windows=MORNING, timezone=ZONE
    )
    other, _ = await practitioner(client, admin, sessionmaker, settings, windows=MORNING)
    day = _local_today() + timedelta(days=3)
    doctor_id = uuid.UUID(profile["id"])
    bad_ids = {name: uuid.uuid4() for name in ("weekly", "weekday", "extra", "time_off")}
    async with sessionmaker() as session:
        await session.execute(
            insert(AvailabilityWindow).values(
                id=bad_ids["weekly"],
                practitioner_id=doctor_id,
                weekday=day.weekday(),
                start=time(16),
                end=time(9),
            )
        )
        await session.execute(
            insert(AvailabilityWindow).values(
                id=bad_ids["weekday"],
                practitioner_id=doctor_id,
                weekday=9,
                start=time(13),
                end=time(15),
            )
        )
        await session.execute(
            insert(ExtraWindow).values(
                id=bad_ids["extra"],
                practitioner_id=doctor_id,
                day=day,
                start=time(18),
                end=time(17),
                created_at=clock.now(),
            )
        )
        moment = clock.now() + timedelta(days=2)
        await session.execute(
            insert(TimeOff).values(
                id=bad_ids["time_off"],
                practitioner_id=doctor_id,
                start=moment,
                end=moment - timedelta(hours=5),
                created_at=clock.now(),
            )
        )
        await session.commit()
    caplog.set_level(logging.ERROR, logger="tequio.availability")
    await _rebuild(sessionmaker)

    _, patient = await signed_up(client)
    found = await open_slots(
        client, patient, timezone=ZONE, **{"from": day.isoformat(), "to": day.isoformat()}
    )
    mine = [s["start"][11:16] for s in found if s["practitioner_id"] == profile["id"]]
    assert mine == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert any(s["practitioner_id"] == other["id"] for s in found)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for row_id in bad_ids.values():
        assert str(row_id) in logged, row_id
    assert profile["display_name"] not in logged

    booked = await book(client, patient, profile["id"], found[0]["start"])
    assert booked.status_code == 201, booked.text
    moved = await client.post(
        f"/v1/appointments/{booked.json()['id']}/reschedule",
        json={"start": [s for s in found if s["practitioner_id"] == profile["id"]][1]["start"]},
        headers=bearer(patient),
    )
    assert moved.status_code == 200, moved.text
    shown = await client.get(f"/v1/practitioners/{profile['id']}", headers=bearer(patient))
    assert shown.status_code == 200
    assert {(w["start"], w["end"]) for w in shown.json()["windows"]} == {("09:00:00", "12:00:00")}

    extra_path = f"/v1/practitioners/{profile['id']}/extra-windows"
    [listed] = (await client.get(extra_path, headers=bearer(doctor_tokens))).json()["items"]
    assert (listed["id"], listed["valid"]) == (str(bad_ids["extra"]), False)
    gone = await client.delete(f"{extra_path}/{listed['id']}", headers=bearer(doctor_tokens))
    assert gone.status_code == 204
    off_path = f"/v1/practitioners/{profile['id']}/time-off"
    [off] = (await client.get(off_path, headers=bearer(doctor_tokens))).json()["items"]
    assert (off["id"], off["valid"]) == (str(bad_ids["time_off"]), False)


async def test_a_doctor_whose_zone_is_unknown_offers_nothing_and_others_still_do(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A zone the zone database dropped after an upgrade, say."""
    broken, _ = await practitioner(client, admin, sessionmaker, settings, windows=MORNING)
    other, _ = await practitioner(client, admin, sessionmaker, settings, windows=MORNING)
    _, patient = await signed_up(client)
    day = _local_today() + timedelta(days=3)
    found = await open_slots(client, patient, **{"from": day.isoformat(), "to": day.isoformat()})
    start = next(s["start"] for s in found if s["practitioner_id"] == broken["id"])
    async with sessionmaker() as session:
        await session.execute(
            update(Practitioner)
            .where(col(Practitioner.id) == uuid.UUID(broken["id"]))
            .values(timezone="America/Atlantis")
        )
        await session.commit()
    caplog.set_level(logging.ERROR, logger="tequio.availability")
    await _rebuild(sessionmaker)
    found = await open_slots(client, patient, **{"from": day.isoformat(), "to": day.isoformat()})
    doctors = {s["practitioner_id"] for s in found}
    assert other["id"] in doctors and broken["id"] not in doctors
    assert broken["id"] in caplog.text
    refused = await book(client, patient, broken["id"], start)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/not-a-slot")


@pytest.mark.sqlite_only
async def test_text_sqlite_took_for_a_time_spoils_only_its_row(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SQLite stores any text in a time column; it must not fail the whole query."""
    profile, doctor_tokens = await practitioner(
        client, admin, sessionmaker, settings, windows=MORNING, timezone=ZONE
    )
    day = _local_today() + timedelta(days=3)
    async with sessionmaker() as session:
        for start, end in (("banana", "12:00:00.000000"), ("16:00:00+05:00", "18:00:00")):
            await session.execute(
                text(
                    'INSERT INTO availability_window (id, practitioner_id, weekday, start, "end") '
                    "VALUES (:id, :practitioner, :weekday, :start, :end)"
                ),
                {
                    "id": uuid.uuid4().hex,
                    "practitioner": uuid.UUID(profile["id"]).hex,
                    "weekday": day.weekday(),
                    "start": start,
                    "end": end,
                },
            )
        await session.commit()
    _, patient = await signed_up(client)
    caplog.set_level(logging.ERROR, logger="tequio.availability")
    await _rebuild(sessionmaker)
    assert await _slots_on(client, patient, profile["id"], day) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    assert "availability row ignored" in caplog.text
    assert "banana" not in caplog.text  # what was stored is not repeated in the log
    shown = await client.get(f"/v1/practitioners/{profile['id']}", headers=bearer(doctor_tokens))
    assert shown.status_code == 200
    assert len(shown.json()["windows"]) == len(MORNING)
