import pytest

from app.i18n import negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "es"),
        ("", "es"),
        ("en", "en"),
        ("es-MX", "es"),
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("de, en;q=0.1", "en"),
        ("*", "es"),
        ("en;q=0, es;q=0", "es"),
        ("en;q=abc, es;q=0.5", "es"),
        ("nah, es-MX;q=0.9", "es"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header, "es") == expected
    if header and expected == "en":
        assert negotiate(header, "en") == "en"
