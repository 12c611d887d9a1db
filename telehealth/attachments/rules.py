"""Pure rules of attachments: what a file is (read from its bytes, never from its name), the
same photo without its metadata, the signed download link, and who may withdraw an upload.

No database and no I/O: functions over bytes, keys and instants."""

import base64
import hashlib
import hmac
import io
import re
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import filetype
from PIL import Image, ImageOps

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
PDF = "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
IMAGES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}  # media type → Pillow's format
HEIC = frozenset({"image/heic", "image/heif", "image/avif"})
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; decoding more would take too much memory


class Kind(StrEnum):
    """What the file is to the consult."""

    LAB_RESULT = "lab_result"
    PHOTO = "photo"
    DOCUMENT = "document"


class Refusal(StrEnum):
    """Why a file is not taken (each is a problem the HTTP shell names)."""

    EMPTY = "empty"
    UNKNOWN = "unknown"  # not one of the types taken: an executable, a zip, a text file…
    HEIC = "heic"  # an iPhone's HEIC/HEIF photo: taken once sent as JPEG
    DAMAGED = "damaged"
    TOO_MANY_PIXELS = "too-many-pixels"


class FileRefused(ValueError):
    def __init__(self, reason: Refusal, found: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.found = found


@dataclass(frozen=True, slots=True)
class CleanFile:
    """A file ready to store: its type as read from its bytes, and the bytes to keep."""

    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def detect(data: bytes) -> str | None:
    """The media type the bytes say (their magic numbers), whatever the name or the client say."""
    if not data:
        return None
    found: str | None = filetype.guess_mime(data)
    return found


def clean(data: bytes) -> CleanFile:
    """The file as it will be stored, or FileRefused: a photo re-encoded from its pixels (no
    EXIF, GPS, XMP or comments survive; the orientation the EXIF asked for is applied to the
    pixels first), a PDF as it came."""
    if not data:
        raise FileRefused(Refusal.EMPTY)
    found = detect(data)
    if found in HEIC:
        raise FileRefused(Refusal.HEIC, found)
    if found == PDF:
        if not data.startswith(b"%PDF-"):
            raise FileRefused(Refusal.DAMAGED, found)
        return CleanFile(PDF, data)
    if found not in IMAGES:
        raise FileRefused(Refusal.UNKNOWN, found)
    return CleanFile(found, _reencoded(data, found))


def _reencoded(data: bytes, media_type: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[IMAGES[media_type]]) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise FileRefused(Refusal.TOO_MANY_PIXELS, media_type)
                opened.seek(0)  # an animation keeps its first frame
                upright = ImageOps.exif_transpose(opened)
                return _saved(upright, media_type)
        except FileRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise FileRefused(Refusal.TOO_MANY_PIXELS, media_type) from exc
        except Exception as exc:  # Pillow's decoders raise many kinds on a damaged file
            raise FileRefused(Refusal.DAMAGED, media_type) from exc


def _saved(image: Image.Image, media_type: str) -> bytes:
    """Only the pixels and the colour profile are written: `info` (where Pillow keeps the
    EXIF, XMP, comments and text chunks it read) is emptied first."""
    profile = image.info.get("icc_profile")
    image.info = {}
    out = io.BytesIO()
    options: dict[str, object] = {"icc_profile": profile} if profile else {}
    if media_type == JPEG:
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, **options)
    elif media_type == PNG:
        image.save(out, "PNG", optimize=False, **options)
    else:
        image.save(out, "WEBP", quality=90, **options)
    return out.getvalue()


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def file_name(given: str | None, media_type: str) -> str:
    """The name shown and downloaded: the base of the name given (no folders, no control or
    reserved characters, at most 120 characters), with the extension of what the file is."""
    base = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = _UNSAFE_NAME.sub("_", base.rsplit(".", 1)[0] if "." in base else base).strip(" ._")
    stem = stem[:120] or "archivo"
    return f"{stem}.{EXTENSIONS[media_type]}"


LinkCheck = Literal["valid", "invalid", "expired"]


def link_signature(
    key: bytes,
    attachment_id: uuid.UUID,
    account_id: uuid.UUID,
    expires: int,
    *,
    reason: str | None = None,
) -> str:
    """The signature of a download link: HMAC-SHA256 of what the link grants, to whom and until
    when (seconds since 1970), and, for an admin's link, the reason they gave (so the download
    is logged with the reason the link was given for, and nobody changes it); base64url
    without padding."""
    message = f"tequio attachment download\n{attachment_id}\n{account_id}\n{expires}"
    if reason is not None:
        message += f"\nreason\n{reason}"
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_expiry(now: datetime, lifetime: timedelta) -> int:
    return int((now + lifetime).timestamp())


def check_link(
    key: bytes,
    attachment_id: uuid.UUID,
    account_id: uuid.UUID,
    expires: int,
    signature: str,
    now: datetime,
    *,
    reason: str | None = None,
) -> LinkCheck:
    """`invalid` when anything in the link was changed (its signature is checked first, so a
    forged link learns nothing), `expired` once its time has passed."""
    expected = link_signature(key, attachment_id, account_id, expires, reason=reason)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "invalid"
    if now.timestamp() >= expires:
        return "expired"
    return "valid"


READERS = frozenset({"patient", "guardian", "doctor", "clinic"})  # roles in the consult


def may_withdraw(
    *,
    uploaded_by: uuid.UUID | None,
    caller: uuid.UUID,
    uploaded_at: datetime,
    now: datetime,
    window: timedelta,
) -> bool:
    """Only who uploaded a file may withdraw it, and only within `window` of the upload (a
    wrong photo is noticed at once); after that it is part of the consult's record, which the
    clinical record's rules (NOM-004) keep."""
    return uploaded_by == caller and now - uploaded_at <= window
