"""What is stored about accounts and their sign-in sessions. Never a token or password in clear."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401  (naming convention before any table)
)
from cooperative.kernel.types import UTCDateTime


class Account(SQLModel, table=True):
    __table_args__ = (
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_contact"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    phone: str | None = Field(default=None, max_length=16, unique=True)
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    preferred_language: str = Field(default="es", max_length=8)
    timezone: str | None = Field(default=None, max_length=64, description="IANA, for display.")
    is_active: bool = True
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # when its owner proved, with a one-time code, that the email or phone reaches them
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    phone_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_verified(self) -> bool:
        """A contact of the account was proved to reach its owner (needed to book or vote)."""
        return self.email_verified_at is not None or self.phone_verified_at is not None


class OneTimeCode(SQLModel, table=True):
    """A one-time code sent to `address` for `purpose` (verify, recover, contact): kept only as
    a keyed hash, short-lived, spent once, and dead after a few wrong tries. Of an account's
    codes for one purpose only the latest counts."""

    __tablename__ = "one_time_code"
    __table_args__ = (sa.Index("ix_one_time_code_account", "account_id", "purpose", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE")
    purpose: str = Field(max_length=16)
    address: str = Field(max_length=254)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuthSession(SQLModel, table=True):
    """A sign-in: the family of refresh tokens rotated from one login. Revoking it ends them all."""

    __tablename__ = "auth_session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    scope: str | None = Field(
        default=None, max_length=1000, description="Scopes asked for at sign-in; None: all granted."
    )
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=32)
    client_id: uuid.UUID | None = Field(
        default=None,
        index=True,
        description="The app (OAuth2 client) the member signed in to; None: Tequio's own app.",
    )


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="auth_session.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Recent failed logins per key: a keyed hash of an identifier or an address, never either."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime = Field(sa_type=UTCDateTime)


class RoleChange(SQLModel, table=True):
    """A role given or taken away, with the reason: the account's history of roles, which the
    person concerned sees. The roles held now are the account's `roles`."""

    __tablename__ = "role_change"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    action: str = Field(max_length=8, description="granted or revoked")
    clinic_id: uuid.UUID | None = Field(
        default=None, description="For clinic_staff: the clinic (telehealth's) it binds to."
    )
    reason: str = Field(max_length=500)
    by_account_id: uuid.UUID | None = Field(
        default=None,
        foreign_key="account.id",
        ondelete="SET NULL",
        description="The admin who made the change; None: the operator's command line.",
    )
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
