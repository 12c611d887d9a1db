"""Receipt photos are read by their bytes: whatever arrives, the answer is a clean image or a
clear refusal, never a crash."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.dues.receipts import JPEG, PNG, NotAnImage, clean, sniff

SOI = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@given(st.sampled_from([SOI, PNG_SIGNATURE, b""]), st.binary(max_size=2048))
def test_any_bytes_give_an_image_or_a_refusal(prefix: bytes, rest: bytes) -> None:
    try:
        image = clean(prefix + rest)
    except NotAnImage:
        return
    assert sniff(image.data) == image.media_type


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(SOI + b"\xe0", JPEG), (PNG_SIGNATURE, PNG), (b"GIF89a", None), (b"", None)],
)
def test_the_magic_bytes_say_what_a_file_is(data: bytes, media_type: str | None) -> None:
    assert sniff(data) == media_type
