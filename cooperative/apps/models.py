"""What is stored about apps (OAuth2 clients) and the authorization codes issued to them. Never a
secret or a code in clear: only their hashes."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401  (naming convention before any table)
)
from cooperative.kernel.types import UTCDateTime


class OAuthClient(SQLModel, table=True):
    """An app registered to use the API on members' behalf (public: a phone or single-page app,
    authorization code + PKCE, no secret) or as itself (confidential: a server holding a
    secret). Its `id` is the OAuth2 `client_id`. Webhook endpoints will belong to a client."""

    __tablename__ = "oauth_client"
    __table_args__ = (sa.CheckConstraint("kind IN ('public', 'confidential')", name="known_kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=80)
    kind: str = Field(max_length=16)
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    owner_account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", index=True)
    contact: str = Field(max_length=254)
    first_party: bool = False
    is_active: bool = True
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    clinic_id: uuid.UUID | None = Field(
        default=None,
        description="A clinic's server: the clinic (telehealth's) it acts for, never as a member.",
    )
    service_account_id: uuid.UUID | None = Field(
        default=None,
        foreign_key="account.id",
        ondelete="SET NULL",
        description="The clinic app's own staff account, made when an admin approves it.",
    )
    jwks: dict[str, Any] | None = Field(
        default=None,
        sa_column=Column(JSON, nullable=True),
        description="Public keys for `private_key_jwt` client authentication (RFC 7523).",
    )
    secret_hash: str | None = Field(default=None, max_length=64)
    secret_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class AuthorizationCode(SQLModel, table=True):
    """A code handed to an app's redirect URI after the member consented: short-lived, spent
    once, bound to the client, the redirect URI, the PKCE challenge and the scopes granted.
    `session_id` is the sign-in its exchange started: a replayed code ends it (RFC 6749 §4.1.2)."""

    __tablename__ = "oauth_code"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    client_id: uuid.UUID = Field(foreign_key="oauth_client.id", ondelete="CASCADE", index=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE")
    redirect_uri: str = Field(max_length=500)
    code_challenge: str = Field(max_length=128)
    scope: str = Field(max_length=1000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    session_id: uuid.UUID | None = None


class ClientAssertion(SQLModel, table=True):
    """A `private_key_jwt` assertion's `jti`, spent (hashed with its client): an assertion
    works once, so a copy of one is worth nothing. Kept until it expires."""

    __tablename__ = "oauth_assertion"

    jti_hash: str = Field(primary_key=True, max_length=64)
    client_id: uuid.UUID = Field(foreign_key="oauth_client.id", ondelete="CASCADE")
    expires_at: datetime = Field(sa_type=UTCDateTime)
