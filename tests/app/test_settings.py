"""Settings refuse unsafe production configurations and read the environment."""

from typing import Any

import pytest
from pydantic import ValidationError

from app.settings import DEVELOPMENT_SECRET, Settings


def test_the_development_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEQUIO_CLOCK_OFFSET_SECONDS", raising=False)  # a run moved in time
    monkeypatch.setenv("TEQUIO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="TEQUIO_SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("TEQUIO_SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="TEQUIO_SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("TEQUIO_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("TEQUIO_BALLOT_SECRET", "b" * 48)
    assert Settings(_env_file=None).environment == "production"


def test_production_needs_its_own_ballot_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEQUIO_CLOCK_OFFSET_SECONDS", raising=False)  # a run moved in time
    monkeypatch.setenv("TEQUIO_ENVIRONMENT", "production")
    monkeypatch.setenv("TEQUIO_SECRET_KEY", "k" * 48)
    for ballot_secret in (None, "short", "k" * 48):  # unset, too short, the token key's
        if ballot_secret is None:
            monkeypatch.delenv("TEQUIO_BALLOT_SECRET", raising=False)
        else:
            monkeypatch.setenv("TEQUIO_BALLOT_SECRET", ballot_secret)
        with pytest.raises(ValidationError, match="TEQUIO_BALLOT_SECRET"):
            Settings(_env_file=None)
    monkeypatch.setenv("TEQUIO_BALLOT_SECRET", "b" * 48)
    assert Settings(_env_file=None).ballot_key == b"b" * 48


def test_outside_production_the_ballot_secret_derives_from_the_secret_key() -> None:
    one = Settings(_env_file=None, environment="test", secret_key="k" * 48)
    other = Settings(_env_file=None, environment="test", secret_key="j" * 48)
    assert len(one.ballot_key) == 32
    assert one.ballot_key != other.ballot_key
    assert b"k" * 32 not in one.ballot_key  # a derivation, not the token key itself


def test_the_development_secret_is_refused_in_tests_too() -> None:
    with pytest.raises(ValidationError, match="outside development"):
        Settings(_env_file=None, environment="test")


def test_development_may_use_the_development_secret() -> None:
    settings = Settings(_env_file=None, environment="development")
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET


def test_rs256_needs_a_key_pair() -> None:
    with pytest.raises(ValidationError, match="RS256"):
        Settings(_env_file=None, jwt_algorithm="RS256")
    with pytest.raises(ValidationError, match="RS256"):
        Settings(_env_file=None, jwt_algorithm="RS256", jwt_public_key="x")


def test_lists_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEQUIO_CORS_ORIGINS", "https://app.tequio.coop, https://clinica.example")
    monkeypatch.setenv("TEQUIO_TURN_URLS", "turn:turn.tequio.coop:3478?transport=udp")
    monkeypatch.setenv("TEQUIO_PORT", "8123")
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["https://app.tequio.coop", "https://clinica.example"]
    assert settings.turn_urls == ["turn:turn.tequio.coop:3478?transport=udp"]
    assert settings.port == 8123
    assert settings.stun_urls == []  # never a public STUN server by default


def test_a_moved_clock_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="TEQUIO_CLOCK_OFFSET_SECONDS"):
        Settings(
            _env_file=None,
            environment="production",
            secret_key="k" * 48,
            ballot_secret="b" * 48,
            clock_offset_seconds=60,
        )


def test_the_sms_provider_is_configured_whole_and_reachable_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its sid and token go together; in production its receipts need a public https address.
    Set from the environment (the content templates as JSON), it takes the channels it has a
    sender for, reporting to the public address."""
    from app.outbox import twilio_config

    monkeypatch.delenv("TEQUIO_CLOCK_OFFSET_SECONDS", raising=False)  # a run moved in time
    with pytest.raises(ValidationError, match="go together"):
        Settings(_env_file=None, twilio_account_sid="AC1")
    production: dict[str, Any] = {
        "environment": "production",
        "secret_key": "k" * 48,
        "ballot_secret": "b" * 48,
    }
    with pytest.raises(ValidationError, match="TEQUIO_PUBLIC_BASE_URL"):
        Settings(_env_file=None, twilio_account_sid="AC1", twilio_auth_token="t", **production)
    monkeypatch.setenv("TEQUIO_TWILIO_ACCOUNT_SID", "AC1")
    monkeypatch.setenv("TEQUIO_TWILIO_AUTH_TOKEN", "t")
    monkeypatch.setenv("TEQUIO_TWILIO_WHATSAPP_FROM", "+525500000002")
    monkeypatch.setenv("TEQUIO_TWILIO_WHATSAPP_CONTENT_SIDS", '{"consult.reminder": "HX1"}')
    monkeypatch.setenv("TEQUIO_PUBLIC_BASE_URL", "https://tequio.coop")
    config = twilio_config(Settings(_env_file=None, **production))
    assert config is not None and config.channels == {"whatsapp"}
    assert config.whatsapp_content_sids == {"consult.reminder": "HX1"}
    assert config.status_callback == "https://tequio.coop/v1/notifications/receipts/twilio"
