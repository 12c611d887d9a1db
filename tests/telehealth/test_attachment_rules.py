"""The pure rules of attachments: what a file is, its shown name, signed links, withdrawal."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telehealth.attachments import rules
from tests.attachment_support import ELF, HEIC, pdf, photo_from_a_phone

KEY = b"k" * 32
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def test_the_type_comes_from_the_bytes() -> None:
    assert rules.detect(pdf()) == rules.PDF
    assert rules.detect(photo_from_a_phone()) == rules.JPEG
    assert rules.detect(ELF) == "application/x-executable"
    assert rules.detect(b"MZ\x90\x00" + b"\x00" * 64) == "application/x-msdownload"
    assert rules.detect(b"") is None
    with pytest.raises(rules.FileRefused) as refused:
        rules.clean(HEIC)
    assert refused.value.reason == rules.Refusal.HEIC


@pytest.mark.parametrize(
    ("given_name", "media_type", "shown"),
    [
        ("foto.jpg", rules.PDF, "foto.pdf"),
        ("C:\\Users\\rosa\\análisis.PDF", rules.PDF, "análisis.pdf"),
        ("../../etc/passwd", rules.PNG, "passwd.png"),
        ("", rules.JPEG, "archivo.jpg"),
        (None, rules.WEBP, "archivo.webp"),
        ("...", rules.PDF, "archivo.pdf"),
        ("a" * 300 + ".pdf", rules.PDF, "a" * 120 + ".pdf"),
    ],
)
def test_the_shown_name_is_safe_and_says_what_the_file_is(
    given_name: str | None, media_type: str, shown: str
) -> None:
    assert rules.file_name(given_name, media_type) == shown


@given(st.text(max_size=300))
def test_any_name_becomes_a_safe_one(given_name: str) -> None:
    shown = rules.file_name(given_name, rules.PDF)
    assert shown.endswith(".pdf") and len(shown) <= 124
    assert not any(c in shown for c in '/\\\x00:*?"<>|')


def test_a_link_is_valid_until_it_expires_and_only_as_signed() -> None:
    file, holder = uuid.uuid4(), uuid.uuid4()
    expires = rules.link_expiry(NOW, timedelta(minutes=5))
    signature = rules.link_signature(KEY, file, holder, expires)
    assert rules.check_link(KEY, file, holder, expires, signature, NOW) == "valid"
    later = NOW + timedelta(minutes=5)
    assert rules.check_link(KEY, file, holder, expires, signature, later) == "expired"
    for changed in (
        (KEY, uuid.uuid4(), holder, expires, signature),
        (KEY, file, uuid.uuid4(), expires, signature),
        (KEY, file, holder, expires + 60, signature),
        (b"another key" * 3, file, holder, expires, signature),
        (KEY, file, holder, expires, signature.swapcase()),
        (KEY, file, holder, expires, "ñ"),
    ):
        assert rules.check_link(*changed, NOW) == "invalid"


def test_only_the_uploader_withdraws_and_only_within_the_window() -> None:
    uploader, other = uuid.uuid4(), uuid.uuid4()
    day = timedelta(hours=24)

    def may(caller: uuid.UUID, after: timedelta) -> bool:
        return rules.may_withdraw(
            uploaded_by=uploader, caller=caller, uploaded_at=NOW, now=NOW + after, window=day
        )

    assert may(uploader, timedelta(hours=23))
    assert not may(uploader, timedelta(hours=24, seconds=1))
    assert not may(other, timedelta(minutes=1))
    assert not rules.may_withdraw(
        uploaded_by=None, caller=uploader, uploaded_at=NOW, now=NOW, window=day
    )
