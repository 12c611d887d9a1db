"""Files as phones and clinics send them, and the S3-compatible server the attachment tests
talk to: moto's server mode on loopback, started by the suite itself, reached through the same
boto3 client code a deployment uses (nothing leaves this machine)."""

import io
import socket
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image

S3_KEYS = {"s3_access_key_id": "tequio-test", "s3_secret_access_key": "tequio-test-secret"}
GPS = {1: "N", 2: (17.0, 3.0, 55.0), 3: "W", 4: (96.0, 43.0, 36.0)}
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPSLatitude 17.0654N Oaxaca</x:xmpmeta>'


def photo_from_a_phone(fmt: str = "JPEG") -> bytes:
    """A 40×20 photo the phone held sideways (EXIF orientation 6: turn it a quarter to see it),
    with the phone's make and model, a GPS position in Oaxaca, XMP and a comment."""
    image = Image.new("RGB", (40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Google"
    exif[ExifTags.Base.Model] = "Pixel 8"
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", exif=exif, xmp=XMP, comment=b"en casa de Rosa")
    else:
        image.save(out, fmt, exif=exif)
    return out.getvalue()


def pdf(size: int = 600) -> bytes:
    """A small PDF document padded (with a PDF comment) to exactly `size` bytes."""
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    tail = b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    filler = size - len(head) - len(tail)
    assert filler >= 2
    return head + b"%" + b"x" * (filler - 1) + tail


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible server on 127.0.0.1 for the whole run; its endpoint URL."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def new_bucket(endpoint: str, name: str) -> None:
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["s3_access_key_id"],
        aws_secret_access_key=S3_KEYS["s3_secret_access_key"],
    )
    client.create_bucket(Bucket=name)
    client.close()
