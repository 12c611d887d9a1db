"""All configuration, read from `TEQUIO_*` environment variables (or a `.env` file)."""

import hashlib
import hmac
from dataclasses import replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cooperative.accounts.codes import CodePolicy
from cooperative.accounts.rules import BackoffPolicy, ThrottleRule, throttle_key
from cooperative.kernel import clock
from cooperative.kernel.errors import Language
from telehealth.attachments.service import Policy as AttachmentPolicy
from telehealth.attachments.store import FileStore, LocalStore, S3Store
from telehealth.consults.rules import RoomWindow

DEVELOPMENT_SECRET = "tequio-development-secret-do-not-use-in-production"  # noqa: S105

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEQUIO_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-For (the client address used for throttling).",
    )

    database_url: str = "sqlite+aiosqlite:///./tequio.db"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=30, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)

    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    ballot_secret: SecretStr | None = Field(
        default=None,
        description="Seals ballots while a vote runs; the database never holds it. 32+ random "
        "characters, required in production, never changed while a vote is open. Unset "
        "(development, tests): derived from TEQUIO_SECRET_KEY.",
    )
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_private_key: SecretStr | None = Field(default=None, description="PEM, for RS256.")
    jwt_public_key: str | None = Field(default=None, description="PEM, for RS256.")
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "tequio"
    jwt_audience: str = "tequio-api"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    oauth_code_seconds: int = Field(
        default=60,
        ge=10,
        le=600,
        description="How long an OAuth2 authorization code may wait to be exchanged (RFC 6749 "
        "§4.1.2 advises at most 10 minutes).",
    )
    refresh_reuse_grace_seconds: float = Field(
        default=30,
        ge=0,
        le=300,
        description="A refresh token presented again this soon after it was spent (a retry "
        "whose answer a bad link lost) gets the same new tokens; later, it ends the sign-in.",
    )

    password_min_length: int = Field(default=10, ge=8, le=64)
    # OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~25 ms a hash on one core here
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)

    login_free_attempts: int = Field(
        default=5, ge=1, description="Failed sign-ins to one account from one address."
    )
    login_account_free_attempts: int = Field(
        default=50,
        ge=1,
        description="To one account from all addresses: high, so a stranger who knows a "
        "patient's phone number cannot easily lock the patient out.",
    )
    login_address_free_attempts: int = Field(
        default=50, ge=1, description="From one address to any account: a clinic shares one IP."
    )
    login_backoff_base_seconds: float = Field(default=1.0, gt=0)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0)
    signup_address_free_attempts: int = Field(
        default=20,
        ge=1,
        description="Sign-ups from one address before back-off: a clinic signing its patients "
        "up shares one address, so do people behind a mobile carrier's NAT.",
    )
    signup_contact_free_attempts: int = Field(
        default=3, ge=1, description="Sign-ups with one email or phone number, from anywhere."
    )
    code_minutes: int = Field(
        default=10, ge=1, le=60, description="How long a one-time code works."
    )
    code_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Wrong tries after which a one-time code is dead."
    )
    code_account_free_attempts: int = Field(
        default=5, ge=1, description="One-time codes sent for one account before back-off."
    )
    code_address_free_attempts: int = Field(
        default=5, ge=1, description="One-time codes sent to one email or phone before back-off."
    )
    signup_refill_seconds: float = Field(
        default=60,
        gt=0,
        description="One sign-up (or clinic registration) is forgiven per this many seconds, so "
        "a steady pace never piles up and only bursts are slowed.",
    )
    clinic_registration_free_attempts: int = Field(
        default=30, ge=1, description="Patients one staff account registers before back-off."
    )

    public_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Where people reach Tequio, e.g. https://tequio.coop: the links it hands "
        "out (the consult page in calendar entries) start with it. Unset: http://HOST:PORT.",
    )
    cooperative_name: str = Field(
        default="Tequio, Sociedad Cooperativa de Consumo de Servicios de Salud",
        min_length=1,
        max_length=200,
        description="The cooperative's legal name, as its bylaws' deed registers it: every "
        "prescription carries it (Reglamento de Insumos para la Salud art. 29).",
    )
    cooperative_address: str = Field(
        default="Calle de la Reforma 12, Centro, 68000 Oaxaca de Juárez, Oax., México",
        min_length=1,
        max_length=300,
        description="The cooperative's registered address (domicilio social), printed on every "
        "prescription.",
    )
    cors_origins: CommaList = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    default_language: Language = "es"
    timezone: str = Field(
        default="America/Mexico_City",
        description="The cooperative's IANA time zone: what `today` means for dues and fees.",
    )

    clock_offset_seconds: float = Field(
        default=0,
        description="Tests only: how far the clock is moved from the host's, so a whole test run "
        "(and the servers it starts) can be made at another hour; refused in production.",
    )

    redis_url: str | None = None
    rate_limit_enabled: bool = Field(
        default=True,
        description="Count each caller's requests (per member, app or address) and answer "
        "429 past its limit; off when a proxy in front does it.",
    )
    rate_limit_window_seconds: int = Field(
        default=60, ge=1, le=86400, description="The window every rate limit counts over."
    )
    rate_limit_anonymous: int = Field(
        default=300,
        ge=1,
        description="Requests a window from one address without a valid token: a clinic's "
        "patients, or a mobile carrier's customers behind its NAT, share one address.",
    )
    rate_limit_member: int = Field(
        default=600, ge=1, description="Requests a window from one signed-in member."
    )
    rate_limit_app: int = Field(
        default=1200,
        ge=1,
        description="Requests a window from one app (an OAuth2 client), for all its users.",
    )
    rate_limit_unverified: int = Field(
        default=60,
        ge=1,
        description="Requests a window from one member whose contact is not verified yet "
        "(a token issued before the verification counts here until it is renewed).",
    )
    turn_secret: SecretStr | None = None
    turn_urls: CommaList = Field(default_factory=list)
    stun_urls: CommaList = Field(default_factory=list)
    turn_credential_seconds: int = Field(default=3600, ge=60)
    consult_opens_minutes_before: int = Field(default=15, ge=0, le=24 * 60)
    consult_closes_minutes_after: int = Field(default=30, ge=0, le=24 * 60)
    consult_token_minutes: int = Field(default=10, ge=1, le=120)
    signal_max_message_bytes: int = Field(default=65_536, ge=1024)
    signal_messages_per_second: float = Field(default=20, gt=0)
    signal_burst: int = Field(default=60, ge=1)
    signal_watch_seconds: float = Field(
        default=15, gt=0, le=600, description="How often a silent socket is checked."
    )
    signal_recheck_seconds: float = Field(
        default=2, ge=0, le=60, description="How stale a socket's 'may still be here' may be."
    )
    precheck_seconds: float = Field(default=10, gt=0, le=120)
    slot_sweep_seconds: float = Field(
        default=600,
        ge=0,
        le=86400,
        description="How often a worker lays out open slots ahead as the horizon rolls forward "
        "(0: only when a search needs them).",
    )
    governance_sweep_seconds: float = Field(
        default=30,
        ge=0,
        le=3600,
        description="How often a worker closes proposals whose time is up (0: only on requests).",
    )
    governance_closing_soon_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 14,
        description="How long before a vote's close the 'closing soon' event is recorded and "
        "its reminder reaches the members who have not voted.",
    )
    outbox_dispatch_seconds: float = Field(
        default=5,
        ge=0,
        le=3600,
        description="How often a `tequio serve` worker delivers the outbox's due messages "
        "(0: it does not; `tequio worker` processes do).",
    )
    outbox_batch: int = Field(default=20, ge=1, le=1000, description="Messages taken at once.")
    outbox_max_attempts: int = Field(
        default=6, ge=1, le=50, description="Attempts before a message is dead (kept, with why)."
    )
    outbox_retry_base_seconds: float = Field(
        default=30, gt=0, le=86400, description="The wait after a first failure; doubles each time."
    )
    outbox_retry_cap_seconds: float = Field(
        default=3600, gt=0, le=7 * 86400, description="The longest wait between two attempts."
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Development only: webhook URLs may be http and resolve to private, "
        "loopback or link-local addresses (refused otherwise, at registration and delivery).",
    )
    webhooks_timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="How long a webhook receiver has to answer."
    )
    webhooks_rotation_grace_hours: float = Field(
        default=24, ge=0, le=24 * 30, description="How long a rotated webhook secret still signs."
    )
    webhooks_disable_after_dead: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Dead deliveries in a row that switch an endpoint off.",
    )
    webhooks_disable_after_hours: float = Field(
        default=72,
        gt=0,
        le=24 * 60,
        description="Hours of failing without a success that switch an endpoint off.",
    )
    webhooks_max_attempts: int = Field(
        default=14, ge=1, le=50, description="Attempts before a webhook delivery is dead."
    )
    webhooks_retry_base_seconds: float = Field(
        default=30, gt=0, le=86400, description="A webhook's wait after a first failure; doubles."
    )
    webhooks_retry_cap_seconds: float = Field(
        default=6 * 3600,
        gt=0,
        le=7 * 86400,
        description="The longest wait between two webhook attempts (the defaults: ≈26.5 h in all).",
    )
    consult_reminder_hours: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [24.0, 1.0],
        description="When a consult's reminders go, in hours before its start (comma-separated; "
        "empty: none). A reminder whose moment has already passed at booking is not sent.",
    )
    smtp_host: str | None = Field(default=None, description="Email goes out through it if set.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="Tequio <avisos@tequio.coop>", max_length=200)
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=300)
    twilio_api_base: str = Field(
        default="https://api.twilio.com",
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The Twilio-style messages API (any provider that speaks it).",
    )
    twilio_account_sid: str | None = Field(
        default=None,
        max_length=64,
        description="SMS and WhatsApp go out through the Twilio-style API when it, the auth "
        "token and a sender number are set.",
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, description="Also the key the provider signs its status callbacks with."
    )
    twilio_sms_from: str | None = Field(
        default=None, max_length=64, description="The sender of SMS, e.g. +525512345678."
    )
    twilio_whatsapp_from: str | None = Field(
        default=None, max_length=64, description="The WhatsApp sender number, e.g. +525512345678."
    )
    twilio_whatsapp_content_sid: str | None = Field(
        default=None,
        max_length=64,
        description="The approved WhatsApp template (ContentSid) business-initiated messages "
        "go out with; its one variable {{1}} is the message's text. Unset: plain text.",
    )
    twilio_whatsapp_content_sids: dict[str, str] = Field(
        default_factory=dict,
        description='A template per kind of message, as JSON: {"consult.reminder": "HX…"}; '
        "the kinds not named use TEQUIO_TWILIO_WHATSAPP_CONTENT_SID.",
    )
    twilio_timeout_seconds: float = Field(default=15, gt=0, le=120)
    relay_video_max_width: int = Field(default=640, ge=16, le=3840)
    relay_video_max_height: int = Field(default=480, ge=16, le=2160)
    relay_video_max_fps: float = Field(default=15, gt=0, le=60)
    relay_heartbeat_seconds: float = Field(default=5, gt=0, le=300)
    recordings_dir: Path = Field(
        default=Path("./recordings"),
        description="Where consult recordings are written; shared storage across hosts.",
    )
    receipts_dir: Path = Field(
        default=Path("./receipts"),
        description="Where payment receipt photos are written; shared storage across hosts.",
    )

    attachments_dir: Path = Field(
        default=Path("./attachments"),
        description="Where consult attachments are kept when no S3 bucket is set: one host, "
        "or a directory every worker mounts.",
    )
    attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=100 * 1024 * 1024,
        description="The largest attachment taken (a lab result, photo or document).",
    )
    attachment_link_seconds: int = Field(
        default=300, ge=10, le=3600, description="How long a signed download link works."
    )
    attachment_withdraw_hours: float = Field(
        default=24,
        ge=0,
        le=24 * 30,
        description="How long after uploading a file its uploader may withdraw it.",
    )
    s3_bucket: str | None = Field(
        default=None,
        min_length=3,
        max_length=63,
        description="Set: attachments go to this bucket of an S3-compatible object store "
        "(AWS S3, MinIO…), which every worker shares, instead of TEQUIO_ATTACHMENTS_DIR.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The store's address, e.g. http://minio:9000; unset: AWS S3 itself.",
    )
    s3_region: str = Field(default="us-east-1", max_length=32)
    s3_access_key_id: str | None = Field(
        default=None, description="Unset: boto3's usual chain (environment, instance role)."
    )
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = Field(
        default="", max_length=100, description="Put before every object key, e.g. tequio/."
    )

    log_level: str = "INFO"
    log_json: bool = True
    demo_data: bool = Field(default=True, description="Seed the demo cooperative on `make run`.")

    @field_validator("cors_origins", "turn_urls", "stun_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("consult_reminder_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("consult_reminder_hours")
    @classmethod
    def _hours_ahead(cls, value: list[float]) -> list[float]:
        if any(not 0 < hours <= 24 * 14 for hours in value):
            raise ValueError("a reminder goes between 0 and 336 hours before the consult")
        return sorted(set(value), reverse=True)

    @property
    def consult_reminders(self) -> list[timedelta]:
        return [timedelta(hours=hours) for hours in self.consult_reminder_hours]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Self:
        secret = self.secret_key.get_secret_value()
        if self.environment != "development" and secret == DEVELOPMENT_SECRET:
            raise ValueError(
                f"TEQUIO_SECRET_KEY must be set outside development ({self.environment}): "
                "a random value of 32+ characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if self.environment == "production" and len(secret) < 32:
            raise ValueError("TEQUIO_SECRET_KEY must have 32 or more characters in production")
        if self.environment == "production":
            ballot = self.ballot_secret.get_secret_value() if self.ballot_secret else ""
            if len(ballot) < 32 or ballot == secret:
                raise ValueError(
                    "TEQUIO_BALLOT_SECRET must be set in production: 32 or more random "
                    "characters, not TEQUIO_SECRET_KEY's, kept out of the database and its "
                    "backups, and never changed while a vote is open"
                )
        if self.clock_offset_seconds and self.environment == "production":
            raise ValueError("TEQUIO_CLOCK_OFFSET_SECONDS is for tests, never in production")
        if self.jwt_algorithm == "RS256" and not (
            (self.jwt_private_key or self.jwt_private_key_file)
            and (self.jwt_public_key or self.jwt_public_key_file)
        ):
            raise ValueError("RS256 needs TEQUIO_JWT_PRIVATE_KEY and TEQUIO_JWT_PUBLIC_KEY (PEM)")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            raise ValueError("TEQUIO_TWILIO_ACCOUNT_SID and TEQUIO_TWILIO_AUTH_TOKEN go together")
        if (
            self.environment == "production"
            and self.twilio_account_sid
            and not (self.public_base_url or "").startswith("https://")
        ):
            raise ValueError(
                "the SMS and WhatsApp provider reports deliveries to TEQUIO_PUBLIC_BASE_URL: set "
                "it to Tequio's public https:// address in production"
            )
        return self

    @property
    def consult_window(self) -> RoomWindow:
        """When a consult's room is open, around the appointment."""
        return RoomWindow(
            opens_before=timedelta(minutes=self.consult_opens_minutes_before),
            closes_after=timedelta(minutes=self.consult_closes_minutes_after),
        )

    def start_clock(self) -> None:
        """The one clock's zone (and, in a test run moved in time, its offset)."""
        clock.configure(self.timezone, timedelta(seconds=self.clock_offset_seconds))

    @property
    def public_url(self) -> str:
        """The base of the links Tequio hands out, without a trailing slash."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def twilio_status_callback(self) -> str:
        """Where the Twilio-style provider reports deliveries (register it as the status
        callback); its signature is checked against exactly this URL."""
        return f"{self.public_url}/v1/notifications/receipts/twilio"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def ballot_key(self) -> bytes:
        """What sealed ballots are keyed from: TEQUIO_BALLOT_SECRET, or (outside production,
        where it may be unset) a derivation of TEQUIO_SECRET_KEY."""
        if self.ballot_secret is not None:
            return self.ballot_secret.get_secret_value().encode()
        secret = self.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"tequio ballot secret", hashlib.sha256).digest()

    @cached_property
    def attachment_link_key(self) -> bytes:
        """Signs attachment download links (derived from TEQUIO_SECRET_KEY)."""
        secret = self.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"tequio attachment links", hashlib.sha256).digest()

    @property
    def attachment_policy(self) -> AttachmentPolicy:
        return AttachmentPolicy(
            link_key=self.attachment_link_key,
            link_lifetime=timedelta(seconds=self.attachment_link_seconds),
            withdraw_window=timedelta(hours=self.attachment_withdraw_hours),
        )

    def attachment_store(self) -> FileStore:
        """The S3-compatible bucket when one is set, else the local directory."""
        if self.s3_bucket is None:
            return LocalStore(self.attachments_dir)
        secret = self.s3_secret_access_key
        return S3Store(
            bucket=self.s3_bucket,
            endpoint_url=self.s3_endpoint_url,
            region=self.s3_region,
            access_key_id=self.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            prefix=self.s3_prefix,
        )

    @cached_property
    def client_secret_key(self) -> bytes:
        """Keys the hashes of apps' client secrets (derived from TEQUIO_SECRET_KEY)."""
        secret = self.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"tequio client secrets", hashlib.sha256).digest()

    @cached_property
    def refresh_successor_key(self) -> bytes:
        """Derives a refresh token's successor from it (derived from TEQUIO_SECRET_KEY)."""
        secret = self.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"tequio refresh successor", hashlib.sha256).digest()

    @cached_property
    def signing_key(self) -> str:
        if self.jwt_algorithm == "HS256":
            return self.secret_key.get_secret_value()
        key = self.jwt_private_key.get_secret_value() if self.jwt_private_key else None
        return _pem(self.jwt_private_key_file, key)

    @cached_property
    def verifying_key(self) -> str:
        if self.jwt_algorithm == "HS256":
            return self.secret_key.get_secret_value()
        return _pem(self.jwt_public_key_file, self.jwt_public_key)

    def _backoff(self, free_attempts: int) -> BackoffPolicy:
        return BackoffPolicy(
            free_attempts=free_attempts,
            base_seconds=self.login_backoff_base_seconds,
            cap_seconds=self.login_backoff_max_seconds,
            window_seconds=max(self.login_backoff_max_seconds, 900.0),
        )

    @property
    def contact_secret(self) -> bytes:
        """Keys the hashes of contacts kept in place of the contacts themselves."""
        return self.secret_key.get_secret_value().encode()

    def _refilling(self, free_attempts: int) -> BackoffPolicy:
        return replace(self._backoff(free_attempts), refill_seconds=self.signup_refill_seconds)

    def signup_throttles(self, contacts: list[str], address: str) -> list[ThrottleRule]:
        """The throttle keys of a sign-up: the client address and each contact given. Every
        sign-up is charged, new or not, so the throttle tells nobody which contacts exist."""
        secret = self.contact_secret
        rules = [
            ThrottleRule(
                throttle_key("signup-address", address, secret),
                self._refilling(self.signup_address_free_attempts),
                cleared_by_success=False,
            )
        ]
        for contact in sorted(set(contacts)):
            rules.append(
                ThrottleRule(
                    throttle_key("signup-contact", contact, secret),
                    self._refilling(self.signup_contact_free_attempts),
                    cleared_by_success=False,
                )
            )
        return rules

    @property
    def code_policy(self) -> CodePolicy:
        """How one-time codes are kept (a key derived from the secret), how long they work and
        how many wrong tries kill one."""
        secret = self.secret_key.get_secret_value().encode()
        return CodePolicy(
            key=hmac.new(secret, b"tequio one-time codes", hashlib.sha256).digest(),
            ttl=timedelta(minutes=self.code_minutes),
            max_attempts=self.code_max_attempts,
        )

    def code_throttles(self, account: str, address: str) -> list[ThrottleRule]:
        """The throttle keys of sending a one-time code: per account (or the username asked
        for, known or not) and per address it goes to."""
        secret = self.contact_secret
        return [
            ThrottleRule(
                throttle_key("code-account", account, secret),
                self._refilling(self.code_account_free_attempts),
                cleared_by_success=False,
            ),
            ThrottleRule(
                throttle_key("code-address", address, secret),
                self._refilling(self.code_address_free_attempts),
                cleared_by_success=False,
            ),
        ]

    def clinic_registration_throttles(self, staff_account_id: str) -> list[ThrottleRule]:
        """Clinic staff registering patients by phone or email, per staff account."""
        return [
            ThrottleRule(
                throttle_key("clinic-registration", staff_account_id, self.contact_secret),
                self._refilling(self.clinic_registration_free_attempts),
                cleared_by_success=False,
            )
        ]

    def login_throttles(self, identifier: str, address: str) -> list[ThrottleRule]:
        """The throttle keys of a sign-in: account+address, account, address (keyed hashes)."""
        secret = self.secret_key.get_secret_value().encode()
        return [
            ThrottleRule(
                throttle_key("account-address", f"{identifier}\n{address}", secret),
                self._backoff(self.login_free_attempts),
                cleared_by_success=True,
            ),
            ThrottleRule(
                throttle_key("account", identifier, secret),
                self._backoff(self.login_account_free_attempts),
                cleared_by_success=True,
            ),
            ThrottleRule(
                throttle_key("address", address, secret),
                self._backoff(self.login_address_free_attempts),
                cleared_by_success=False,
            ),
        ]


def _pem(path: Path | None, value: str | None) -> str:
    """A PEM key from its file when one is named, else from the variable itself."""
    if path is not None:
        return path.read_text()
    assert value is not None, "checked by the RS256 validator"
    return value
