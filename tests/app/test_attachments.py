"""Attachments of a consult through the API, on both file stores (a local directory and an
S3-compatible server on loopback) and both databases: who may add and see them, what is taken
(read from the bytes), the size limit, photos without their metadata, signed links that expire
and refuse tampering, and the patient's access log."""

import io
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from PIL import ExifTags, Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Settings
from cooperative.kernel import clock
from tests.attachment_support import (
    ELF,
    HEIC,
    S3_KEYS,
    new_bucket,
    pdf,
    photo_from_a_phone,
    s3_server,
)
from tests.conftest import Database, _client, make_settings
from tests.factories import (
    bearer,
    book,
    clinic_staff,
    login,
    new_clinic,
    open_slots,
    practitioner,
    registered_with_clinic,
    signed_up,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")
__all__ = ["s3_server"]

Tokens = dict[str, Any]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The settings of one file store: a directory, or a fresh bucket on the S3 server."""
    if request.param == "local":
        return {"attachments_dir": tmp_path / "attachments"}
    endpoint: str = request.getfixturevalue("s3_server")
    bucket = f"tequio-{uuid.uuid4().hex[:12]}"
    new_bucket(endpoint, bucket)
    return {"s3_endpoint_url": endpoint, "s3_bucket": bucket, **S3_KEYS}


@pytest.fixture
def make_client(
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: dict[str, Any],
) -> Callable[..., httpx.AsyncClient]:
    def make(**overrides: Any) -> httpx.AsyncClient:
        settings = make_settings(database.url, **{**store, **overrides})
        return _client(create_app(settings, engine=database.engine, sessionmaker=sessionmaker))

    return make


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as http:
        yield http


@pytest.fixture
async def consult(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    """Rosa's consult with Dr. Ana, booked for her by Clínica San Miguel; and the others."""
    place = await new_clinic(client, admin, "Clínica San Miguel")
    nurse = await clinic_staff(client, admin, place["id"])
    rosa, rosa_t = await signed_up(client, display_name="Rosa Matías")
    await registered_with_clinic(client, nurse, place["id"], rosa_t, rosa["email"])
    profile, doctor = await practitioner(client, admin, sessionmaker, settings)
    _, other_doctor = await practitioner(client, admin, sessionmaker, settings)
    elsewhere = await new_clinic(client, admin, "Clínica Tlaxiaco")
    other_nurse = await clinic_staff(client, admin, elsewhere["id"])
    _, stranger = await signed_up(client, display_name="Pedro Luna")
    starts = [
        s["start"]
        for s in await open_slots(
            client, rosa_t, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
        )
        if s["practitioner_id"] == profile["id"]
    ]
    booked = await book(
        client,
        nurse,
        profile["id"],
        starts[0],
        patient_account_id=rosa["id"],
        clinic_id=place["id"],
        referral_reason="control de presión arterial",
    )
    assert booked.status_code == 201, booked.text
    return {
        "id": booked.json()["id"],
        "rosa_id": rosa["id"],
        "rosa_email": rosa["email"],
        "rosa": rosa_t,
        "doctor": doctor,
        "clinic": nurse,
        "other_doctor": other_doctor,
        "other_clinic": other_nurse,
        "stranger": stranger,
        "admin": admin,
    }


async def upload(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    who: str,
    data: bytes,
    name: str = "estudio.pdf",
    *,
    declared: str = "application/octet-stream",
    language: str = "en",
    **form: str,
) -> httpx.Response:
    return await client.post(
        f"/v1/appointments/{consult['id']}/attachments",
        files={"file": (name, data, declared)},
        data=form,
        headers={**bearer(consult[who]), "Accept-Language": language},
    )


async def uploaded(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    who: str,
    data: bytes,
    name: str,
    **form: str,
) -> dict[str, Any]:
    response = await upload(client, consult, who, data, name, **form)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def link_of(client: httpx.AsyncClient, tokens: Tokens, attachment_id: str) -> str:
    response = await client.get(f"/v1/attachments/{attachment_id}/link", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    url = urlsplit(response.json()["url"])
    return f"{url.path}?{url.query}"


async def test_the_patient_the_doctor_and_the_clinic_add_files_and_see_each_others(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    lab = await uploaded(client, consult, "rosa", pdf(), "biometría.pdf", kind="lab_result")
    photo = await uploaded(
        client, consult, "clinic", photo_from_a_phone(), "pie.jpg", kind="photo", title="Herida"
    )
    letter = await uploaded(client, consult, "doctor", pdf(900), "indicaciones.pdf")
    assert (lab["uploader_role"], photo["uploader_role"], letter["uploader_role"]) == (
        "patient",
        "clinic",
        "doctor",
    )
    assert (lab["kind"], photo["kind"], letter["kind"]) == ("lab_result", "photo", "document")
    assert photo["title"] == "Herida" and lab["file_name"] == "biometría.pdf"
    for who in ("rosa", "doctor", "clinic"):
        listed = await client.get(
            f"/v1/appointments/{consult['id']}/attachments", headers=bearer(consult[who])
        )
        assert listed.status_code == 200, listed.text
        assert [a["id"] for a in listed.json()["items"]] == [lab["id"], photo["id"], letter["id"]]
        downloaded = await client.get(await link_of(client, consult[who], lab["id"]))
        assert downloaded.status_code == 200 and downloaded.content == pdf()
        assert downloaded.headers["content-type"] == "application/pdf"
        assert "attachment;" in downloaded.headers["content-disposition"]


@pytest.mark.parametrize("who", ["other_doctor", "other_clinic", "stranger", "admin"])
async def test_nobody_else_sees_or_adds_anything_admins_included(
    client: httpx.AsyncClient, consult: dict[str, Any], who: str
) -> None:
    lab = await uploaded(client, consult, "rosa", pdf(), "biometría.pdf")
    headers = bearer(consult[who])
    for path in (
        f"/v1/appointments/{consult['id']}/attachments",
        f"/v1/attachments/{lab['id']}",
        f"/v1/attachments/{lab['id']}/link",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert "biometr" not in response.text
    assert (await upload(client, consult, who, pdf())).status_code == 404
    assert (await client.delete(f"/v1/attachments/{lab['id']}", headers=headers)).status_code == 404


async def test_an_admin_reads_a_consults_file_only_with_a_documented_reason(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    lab = await uploaded(client, consult, "rosa", pdf(), "biometría.pdf")
    admin = bearer(consult["admin"])
    reason = {"reason": "solicitud de la COFEPRIS 2026-7"}
    read = await client.get(f"/v1/attachments/{lab['id']}", params=reason, headers=admin)
    assert read.status_code == 200 and read.json()["appointment_id"] == consult["id"]
    listed = await client.get(
        f"/v1/appointments/{consult['id']}/attachments", params=reason, headers=admin
    )
    assert listed.status_code == 404  # one file with a reason, never the consult's list
    withdrawn = await client.delete(f"/v1/attachments/{lab['id']}", params=reason, headers=admin)
    assert withdrawn.status_code == 404
    log = await client.get("/v1/me/access-log", headers=bearer(consult["rosa"]))
    assert [
        (e["resource"], e["accessor_role"], e["reason"])
        for e in log.json()["items"]
        if e["accessor_role"] == "admin"
    ] == [(f"attachment:{lab['id']}", "admin", "solicitud de la COFEPRIS 2026-7")]


async def test_a_pdf_named_jpg_is_a_pdf_and_an_executable_named_pdf_is_refused(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    renamed = await uploaded(client, consult, "rosa", pdf(), "foto.jpg")
    assert renamed["media_type"] == "application/pdf" and renamed["file_name"] == "foto.pdf"

    refused = await upload(
        client, consult, "rosa", ELF, "resultados.pdf", declared="application/pdf"
    )
    assert refused.status_code == 415
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/attachment-type-refused")
    assert "application/x-executable" in refused.json()["detail"]
    spanish = await upload(client, consult, "rosa", ELF, "resultados.pdf", language="es")
    assert spanish.status_code == 415
    assert "no cambia lo que es" in spanish.json()["detail"]

    heic = await upload(client, consult, "rosa", HEIC, "IMG_0001.HEIC", language="es")
    assert heic.status_code == 415 and "JPEG" in heic.json()["detail"]
    text = await upload(client, consult, "rosa", b"hola, doctora", "nota.txt")
    assert text.status_code == 415
    empty = await upload(client, consult, "rosa", b"", "vacio.pdf")
    assert empty.status_code == 422 and empty.json()["type"].endswith("/attachment-unreadable")
    damaged = await upload(client, consult, "rosa", photo_from_a_phone()[:300], "rota.jpg")
    assert damaged.status_code == 422
    listed = await client.get(
        f"/v1/appointments/{consult['id']}/attachments", headers=bearer(consult["rosa"])
    )
    assert [a["id"] for a in listed.json()["items"]] == [renamed["id"]]  # nothing else kept


async def test_the_size_limit_takes_a_file_just_under_and_refuses_one_just_over(
    make_client: Callable[..., httpx.AsyncClient], consult: dict[str, Any]
) -> None:
    limit = 2 * 1024 * 1024  # over the 1 MiB other requests may send
    async with make_client(attachment_max_bytes=limit) as http:
        taken = await upload(http, consult, "rosa", pdf(limit), "grande.pdf")
        assert taken.status_code == 201, taken.text
        assert taken.json()["size_bytes"] == limit
        over = await upload(http, consult, "rosa", pdf(limit + 1), "grande.pdf", language="es")
        assert over.status_code == 413
        assert over.json()["type"].endswith("/attachment-too-large")
        assert "2.0 MB" in over.json()["detail"]
        # far over: the request guard refuses it before the form is read
        huge = await upload(http, consult, "rosa", pdf(limit + 200_000), "enorme.pdf")
        assert huge.status_code == 413
        # and other routes keep their own, smaller limit
        big_json = await http.post(
            "/v1/auth/register",
            content=b'{"x": "' + b"a" * (1_100_000) + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert big_json.status_code == 413


async def test_a_photo_is_kept_without_exif_gps_or_xmp_and_upright(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    sent = photo_from_a_phone()
    assert b"Pixel 8" in sent and b"GPSLatitude" in sent  # what the phone put in
    photo = await uploaded(client, consult, "rosa", sent, "IMG_2041.jpg", kind="photo")
    got = await client.get(await link_of(client, consult["doctor"], photo["id"]))
    assert got.status_code == 200
    kept = got.content
    for trace in (b"Exif", b"Pixel 8", b"Google", b"GPSLatitude", b"xmpmeta", b"casa de Rosa"):
        assert trace not in kept, trace
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert image.size == (20, 40)  # turned as the phone meant it
    assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert photo["size_bytes"] == len(kept)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_png_and_webp_photos_lose_their_metadata_too(
    client: httpx.AsyncClient, consult: dict[str, Any], fmt: str
) -> None:
    sent = photo_from_a_phone(fmt)
    assert b"Pixel 8" in sent
    photo = await uploaded(client, consult, "clinic", sent, f"foto.{fmt.lower()}")
    assert photo["media_type"] == f"image/{fmt.lower()}"
    kept = (await client.get(await link_of(client, consult["rosa"], photo["id"]))).content
    assert b"Pixel 8" not in kept and b"Exif" not in kept
    assert Image.open(io.BytesIO(kept)).size == (20, 40)


async def test_a_link_expires_and_a_changed_link_is_refused(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    travel: Callable[[datetime], None],
) -> None:
    lab = await uploaded(client, consult, "rosa", pdf(), "biometría.pdf")
    link = await link_of(client, consult["doctor"], lab["id"])
    path, query = link.split("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}

    def changed(**values: str) -> str:
        return f"{path}?{urlencode({**params, **values})}"

    for tampered in (
        changed(expires=str(int(params["expires"]) + 3600)),  # longer
        changed(by=consult["rosa_id"]),  # someone else
        changed(
            signature=params["signature"][:-2]
            + ("AA" if params["signature"][-2:] != "AA" else "BB")
        ),
        changed(signature=""),
        link.replace(lab["id"], str(uuid.uuid4())),  # another file
    ):
        refused = await client.get(tampered)
        assert refused.status_code == 403, tampered
        assert refused.json()["type"].endswith("/attachment-link-invalid")
    assert (await client.get(link)).status_code == 200  # the link as given works

    travel(clock.now() + timedelta(seconds=301))
    expired = await client.get(link, headers={"Accept-Language": "es"})
    assert expired.status_code == 403
    assert expired.json()["type"].endswith("/attachment-link-expired")
    assert "nuevo enlace" in expired.json()["detail"]
    fresh = await link_of(client, consult["doctor"], lab["id"])
    assert (await client.get(fresh)).status_code == 200


async def test_every_read_by_someone_else_is_in_the_patients_access_log(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    lab = await uploaded(client, consult, "rosa", pdf(), "biometría.pdf")
    mine = await link_of(client, consult["rosa"], lab["id"])
    await client.get(mine)  # Rosa's own reads are not logged

    async def log() -> list[tuple[str, str, str]]:
        response = await client.get("/v1/me/access-log", headers=bearer(consult["rosa"]))
        return [
            (e["accessor_role"], e["resource"], e["action"])
            for e in response.json()["items"]
            if e["resource"].startswith("attachment")
        ]

    assert await log() == []
    await client.get(
        f"/v1/appointments/{consult['id']}/attachments", headers=bearer(consult["doctor"])
    )
    await client.get(f"/v1/attachments/{lab['id']}", headers=bearer(consult["clinic"]))
    link = await link_of(client, consult["doctor"], lab["id"])
    assert (await client.get(link)).status_code == 200
    entries = await log()
    assert sorted(entries) == sorted(
        [
            ("doctor", f"attachments:{consult['id']}", "read"),
            ("clinic_staff", f"attachment:{lab['id']}", "read"),
            ("doctor", f"attachment:{lab['id']}", "link"),
            ("doctor", f"attachment:{lab['id']}", "download"),
        ]
    )


async def test_the_uploader_may_withdraw_a_file_for_a_day_and_nobody_else_ever(
    client: httpx.AsyncClient,
    consult: dict[str, Any],
    travel: Callable[[datetime], None],
) -> None:
    wrong = await uploaded(client, consult, "rosa", photo_from_a_phone(), "otra.jpg")
    kept = await uploaded(client, consult, "rosa", pdf(), "biometría.pdf")
    assert wrong["uploaded_by_you"] and wrong["withdrawable_until"] is not None
    link = await link_of(client, consult["rosa"], wrong["id"])
    seen_by_doctor = (
        await client.get(f"/v1/attachments/{wrong['id']}", headers=bearer(consult["doctor"]))
    ).json()
    assert not seen_by_doctor["uploaded_by_you"] and seen_by_doctor["withdrawable_until"] is None

    refused = await client.delete(
        f"/v1/attachments/{wrong['id']}", headers=bearer(consult["doctor"])
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/attachment-not-withdrawable")
    gone = await client.delete(f"/v1/attachments/{wrong['id']}", headers=bearer(consult["rosa"]))
    assert gone.status_code == 204
    listed = await client.get(
        f"/v1/appointments/{consult['id']}/attachments", headers=bearer(consult["doctor"])
    )
    assert [a["id"] for a in listed.json()["items"]] == [kept["id"]]
    assert (await client.get(link)).status_code == 404  # its bytes are gone with it

    travel(clock.now() + timedelta(hours=24, minutes=1))
    rosa = await login(client, consult["rosa_email"])  # her token did not last a day
    late = await client.delete(f"/v1/attachments/{kept['id']}", headers=bearer(rosa))
    assert late.status_code == 409


async def test_the_form_is_checked_and_answered_in_clear_problems(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    path = f"/v1/appointments/{consult['id']}/attachments"
    no_file = await client.post(path, data={"kind": "photo"}, headers=bearer(consult["rosa"]))
    assert no_file.status_code == 422
    wrong_kind = await upload(client, consult, "rosa", pdf(), kind="selfie")
    assert wrong_kind.status_code == 422
    nul = await upload(client, consult, "rosa", pdf(), title="a\x00b")
    assert nul.status_code == 422
    as_json = await client.post(path, json={"file": "x"}, headers=bearer(consult["rosa"]))
    assert as_json.status_code == 422
    odd_name = await uploaded(client, consult, "rosa", pdf(), "../../etc/pass:wd.pdf")
    assert odd_name["file_name"] == "pass_wd.pdf"


async def test_the_arco_export_lists_the_patients_attachments(
    client: httpx.AsyncClient, consult: dict[str, Any]
) -> None:
    lab = await uploaded(client, consult, "clinic", pdf(), "biometría.pdf", kind="lab_result")
    export = await client.get("/v1/me/export", headers=bearer(consult["rosa"]))
    assert export.status_code == 200, export.text
    [listed] = export.json()["attachments"]
    assert listed["id"] == lab["id"] and listed["file_name"] == "biometría.pdf"
    assert listed["kind"] == "lab_result" and listed["uploader_role"] == "clinic"
    assert "storage_key" not in listed
