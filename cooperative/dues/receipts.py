"""Receipt photos: what a file is (by its magic bytes, never by what the client says), and the
same image without its metadata (EXIF and XMP carry the GPS position, the phone, the time).

Pure functions over bytes. A JPEG keeps only what decoding needs (its frame, tables, scans and
the JFIF and Adobe markers); a PNG keeps only its critical chunks and the few ancillary ones
that change how it looks. Anything after the image's end is dropped. A file that does not parse
as one of the two is refused.
"""

import hashlib
import struct
import zlib
from dataclasses import dataclass

from cooperative.kernel.errors import TequioError, Text

MAX_BYTES = 5 * 1024 * 1024
JPEG = "image/jpeg"
PNG = "image/png"
EXTENSIONS = {JPEG: "jpg", PNG: "png"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT"}
_PNG_KEPT |= {b"pHYs", b"bKGD"}


class NotAnImage(TequioError):
    status = 422
    slug = "receipt-not-an-image"
    title = Text("Not a JPEG or PNG image", "No es una imagen JPEG o PNG")
    detail = Text(
        "A receipt photo is a JPEG or PNG image of at most 5 MB; this file is not one ({reason}).",
        "La foto del comprobante es una imagen JPEG o PNG de hasta 5 MB; este archivo no lo es "
        "({reason}).",
    )


@dataclass(frozen=True, slots=True)
class CleanImage:
    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    return None


def clean(data: bytes) -> CleanImage:
    """The image without its metadata, or NotAnImage."""
    if not data:
        raise NotAnImage(reason="empty")
    if len(data) > MAX_BYTES:
        raise NotAnImage(reason=Text("larger than 5 MB", "pesa más de 5 MB"))
    kind = sniff(data)
    if kind == JPEG:
        return CleanImage(JPEG, _strip_jpeg(data))
    if kind == PNG:
        return CleanImage(PNG, _strip_png(data))
    raise NotAnImage(reason=Text("neither JPEG nor PNG", "no es JPEG ni PNG"))


def _keeps_jpeg_segment(marker: int, payload: bytes) -> bool:
    """APP0 (JFIF) and APP14 (Adobe's colour transform) stay; every other APPn and comments go."""
    if marker == 0xE0:
        return payload.startswith((b"JFIF\x00", b"JFXX\x00"))
    if marker == 0xEE:
        return payload.startswith(b"Adobe")
    return not (0xE1 <= marker <= 0xEF or marker == 0xFE)


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(b"\xff\xd8")
    position, size = 2, len(data)
    frame = scan = False
    while True:
        if position + 1 >= size or data[position] != 0xFF:
            raise NotAnImage(reason=Text("a damaged JPEG", "un JPEG dañado"))
        while position < size and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= size:
            raise NotAnImage(reason=Text("a truncated JPEG", "un JPEG incompleto"))
        marker = data[position]
        position += 1
        if marker == 0xD9:  # end of image: whatever follows is dropped
            if not (frame and scan):
                raise NotAnImage(reason=Text("a JPEG without an image", "un JPEG sin imagen"))
            out += b"\xff\xd9"
            return bytes(out)
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out += bytes((0xFF, marker))
            continue
        if position + 2 > size:
            raise NotAnImage(reason=Text("a truncated JPEG", "un JPEG incompleto"))
        (length,) = struct.unpack(">H", data[position : position + 2])
        end = position + length
        if length < 2 or end > size:
            raise NotAnImage(reason=Text("a damaged JPEG", "un JPEG dañado"))
        payload = data[position + 2 : end]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = True
        if _keeps_jpeg_segment(marker, payload):
            out += bytes((0xFF, marker)) + data[position:end]
        position = end
        if marker == 0xDA:  # a scan: its entropy-coded data runs to the next real marker
            scan = True
            start = position
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= size:
                    raise NotAnImage(reason=Text("a truncated JPEG", "un JPEG incompleto"))
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                    continue
                if following == 0xFF:
                    position += 1
                    continue
                break
            out += data[start:position]


def _strip_png(data: bytes) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    position, size, first, pixels = len(_PNG_SIGNATURE), len(data), True, False
    while True:
        if position + 12 > size:
            raise NotAnImage(reason=Text("a truncated PNG", "un PNG incompleto"))
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > size:
            raise NotAnImage(reason=Text("a truncated PNG", "un PNG incompleto"))
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : end])
        if zlib.crc32(kind + body) != crc:
            raise NotAnImage(reason=Text("a damaged PNG", "un PNG dañado"))
        if first and kind != b"IHDR":
            raise NotAnImage(reason=Text("a PNG without its header", "un PNG sin su encabezado"))
        first = False
        pixels = pixels or kind == b"IDAT"
        if kind in _PNG_KEPT:
            out += data[position:end]
        position = end
        if kind == b"IEND":  # whatever follows is dropped
            if not pixels:
                raise NotAnImage(reason=Text("a PNG without an image", "un PNG sin imagen"))
            return bytes(out)
