"""Receipt photos of reported payments: JPEG or PNG by their bytes, up to 5 MB, stored without
their metadata, readable by the payer's side and the treasurer, every other read logged."""

import io
import stat
import struct
import zlib
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.conftest import Database, _client, make_settings
from tests.factories import (
    PASSWORD,
    active_member,
    admin_tokens,
    bearer,
    household,
    report_payment,
    treasurer_tokens,
)

pytestmark = pytest.mark.usefixtures("bylaws_installed")

GPS = b"GPS 17.0654N 96.7266W Pixel 8"


def _encoded(codec_name: Literal["mjpeg", "png"], pix_fmt: str) -> bytes:
    codec = av.CodecContext.create(codec_name, "w")
    codec.width, codec.height, codec.pix_fmt = 16, 16, pix_fmt
    codec.time_base = Fraction(1, 25)
    frame = av.VideoFrame(16, 16, pix_fmt)
    for plane in frame.planes:
        plane.update(bytes([128]) * plane.buffer_size)
    return b"".join(bytes(p) for p in codec.encode(frame) + codec.encode(None))


def _jpeg_from_a_phone(padding: int = 0) -> bytes:
    """A JPEG with an EXIF segment carrying a position, `padding` bytes of comments, and a
    maker's trailer after its end."""
    image = _encoded("mjpeg", "yuvj420p")
    exif = b"Exif\x00\x00" + GPS
    segments = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    while padding > 0:
        chunk = min(padding, 65_000)
        segments += b"\xff\xfe" + struct.pack(">H", chunk + 2) + b"x" * chunk
        padding -= chunk
    return image[:2] + segments + image[2:] + b"SAMSUNG-TRAILER " + GPS


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_from_a_phone() -> bytes:
    image = _encoded("png", "rgb24")
    end = image.index(b"IEND") - 4
    extra = _png_chunk(b"tEXt", b"Location\x00" + GPS) + _png_chunk(b"eXIf", b"MM\x00*" + GPS)
    return image[:33] + extra + image[33:end] + image[end:] + GPS


def _decodes(data: bytes, kind: str) -> bool:
    container = av.open(io.BytesIO(data), "r", format=f"{kind}_pipe")
    try:
        frame = next(container.decode(video=0))
        return (frame.width, frame.height) == (16, 16)
    finally:
        container.close()


@pytest.fixture
async def client(
    database: Database, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database.url, receipts_dir=tmp_path / "receipts")
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
    async with _client(app) as http:
        yield http


async def _put(
    client: httpx.AsyncClient,
    tokens: dict[str, Any],
    payment_id: str,
    data: bytes,
    media_type: str = "image/jpeg",
) -> httpx.Response:
    return await client.put(
        f"/v1/payments/{payment_id}/receipt",
        content=data,
        headers={**bearer(tokens), "Content-Type": media_type},
    )


async def _reported(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    admin = await admin_tokens(client, sessionmaker, settings)
    _, rosa = await active_member(client, admin)
    home = await household(client, rosa)
    reported = await report_payment(client, rosa, household_id=home["id"], amount_minor=20000)
    return admin, rosa, reported.json()


async def test_a_receipt_is_stored_without_its_metadata_for_the_payer_and_the_treasurer(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin, rosa, payment = await _reported(client, sessionmaker, settings)
    photo = _jpeg_from_a_phone(padding=1_500_000)  # above the usual 1 MB body limit
    response = await _put(client, rosa, payment["id"], photo)
    assert response.status_code == 200, response.text
    receipt = response.json()["receipt"]
    assert receipt["media_type"] == "image/jpeg" and receipt["bytes"] < 10_000

    [stored] = (tmp_path / "receipts").iterdir()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    kept = stored.read_bytes()
    assert GPS not in kept and b"Exif" not in kept and len(kept) == receipt["bytes"]
    assert _decodes(kept, "jpeg")

    mine = await client.get(f"/v1/payments/{payment['id']}/receipt", headers=bearer(rosa))
    assert (mine.status_code, mine.content) == (200, kept)
    assert mine.headers["content-type"] == "image/jpeg"
    assert mine.headers["cache-control"] == "no-store"
    treasurer = await treasurer_tokens(client, sessionmaker, settings)
    seen = await client.get(f"/v1/payments/{payment['id']}/receipt", headers=bearer(treasurer))
    assert (seen.status_code, seen.content) == (200, kept)
    log = (await client.get("/v1/me/access-log", headers=bearer(rosa))).json()["items"]
    reads = [e for e in log if e["resource"] == f"payment-receipt:{payment['id']}"]
    assert [e["accessor_role"] for e in reads] == ["treasurer"]

    _, stranger = await active_member(client, admin)
    for tokens in (stranger,):
        denied = await client.get(f"/v1/payments/{payment['id']}/receipt", headers=bearer(tokens))
        assert denied.status_code == 404
        assert (await _put(client, tokens, payment["id"], photo)).status_code == 404


async def test_a_new_photo_replaces_the_old_and_a_png_loses_its_text_too(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    _, rosa, payment = await _reported(client, sessionmaker, settings)
    assert (await _put(client, rosa, payment["id"], _jpeg_from_a_phone())).status_code == 200
    replaced = await _put(client, rosa, payment["id"], _png_from_a_phone(), "image/png")
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["receipt"]["media_type"] == "image/png"
    [stored] = (tmp_path / "receipts").iterdir()
    kept = stored.read_bytes()
    assert stored.suffix == ".png"
    assert GPS not in kept and b"tEXt" not in kept and b"eXIf" not in kept
    assert _decodes(kept, "png")


@pytest.mark.parametrize(
    ("data", "media_type", "status", "problem"),
    [
        (b"%PDF-1.7 not a photo", "image/jpeg", 422, "receipt-not-an-image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", 422, "receipt-not-an-image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", 422, "receipt-not-an-image"),
        (b"GIF89a", "image/gif", 415, "unsupported-media-type"),
        (b"\xff" * (5 * 1024 * 1024 + 1), "image/jpeg", 413, "payload-too-large"),
    ],
)
async def test_anything_but_a_jpeg_or_png_up_to_5_mb_is_refused(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    data: bytes,
    media_type: str,
    status: int,
    problem: str,
) -> None:
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    _, rosa, payment = await _reported(client, sessionmaker, settings)
    response = await _put(client, rosa, payment["id"], data, media_type)
    assert response.status_code == status
    assert response.json()["type"].endswith(f"/{problem}")
    assert not (tmp_path / "receipts").exists()
    seen = await client.get(f"/v1/payments/{payment['id']}", headers=bearer(rosa))
    assert seen.json()["receipt"] is None


async def test_a_receipt_only_while_pending_and_the_payers_erasure_deletes_it(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    admin, rosa, payment = await _reported(client, sessionmaker, settings)
    assert (await _put(client, rosa, payment["id"], _jpeg_from_a_phone())).status_code == 200
    confirmed = await client.post(f"/v1/payments/{payment['id']}/confirm", headers=bearer(admin))
    assert confirmed.status_code == 200
    late = await _put(client, rosa, payment["id"], _jpeg_from_a_phone())
    assert late.status_code == 409
    assert late.json()["type"].endswith("/receipt-not-pending")

    erased = await client.post("/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(rosa))
    assert erased.status_code == 200, erased.text
    assert "the photos of your payment receipts" in erased.json()["erased"]
    assert list((tmp_path / "receipts").iterdir()) == []
    gone = await client.get(f"/v1/payments/{payment['id']}/receipt", headers=bearer(admin))
    assert gone.status_code == 404
