"""What crosses the API about apps: registering one, what its owner and admins see, and what a
member sees of the apps holding their grants."""

import uuid
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cooperative.apps import rules
from cooperative.kernel.moments import Moment
from cooperative.kernel.principal import Scope
from cooperative.kernel.schemas import InputModel

AppKind = Literal["public", "confidential"]


class AppCreate(InputModel):
    """Register an app. An admin approves it before anyone can sign in to it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Citas Fácil",
                    "kind": "public",
                    "redirect_uris": ["https://citas.example.org/callback"],
                    "scopes": ["me", "appointments:read", "appointments:write"],
                    "contact": "dev@citas.example.org",
                }
            ]
        },
    )

    name: str = Field(min_length=2, max_length=80, description="Shown to members at consent.")
    kind: AppKind = Field(
        description="`public`: a phone or browser app (authorization code + PKCE, no secret); "
        "`confidential`: a server that keeps a secret."
    )
    redirect_uris: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Exact URIs the member is sent back to: https, http to the loopback, or a "
        "private app scheme (`org.example.app:/callback`). Compared character for character.",
    )
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    contact: str = Field(min_length=3, max_length=254, description="Who answers for the app.")
    jwks: dict[str, Any] | None = Field(
        default=None,
        description="A confidential app's public keys (a JWK Set): it then authenticates with "
        "`private_key_jwt` (RFC 7523) instead of a secret, and gets none.",
    )
    clinic_id: uuid.UUID | None = Field(
        default=None,
        description="A clinic's server (confidential): it gets tokens with `client_credentials` "
        "and acts for this clinic only (you must be its staff), never as a member.",
    )

    @field_validator("name", "contact")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("redirect_uris")
    @classmethod
    def _exact_uris(cls, uris: list[str]) -> list[str]:
        for uri in uris:
            problem = "longer than 500 characters" if len(uri) > 500 else None
            problem = problem or rules.redirect_uri_problem(uri)
            if problem:
                raise PydanticCustomError(
                    "redirect_uri",
                    "redirect URI {uri}: {problem}",
                    {"uri": uri[:100], "problem": problem},
                )
        return sorted(set(uris))

    @model_validator(mode="after")
    def _public_needs_redirect(self) -> Self:
        if self.kind == "public" and not self.redirect_uris:
            raise PydanticCustomError("app_kind", "a public app needs at least one redirect URI")
        if self.jwks is not None:
            problem = rules.jwks_problem(self.jwks)
            if problem or self.kind != "confidential" or len(str(self.jwks)) > 20_000:
                raise PydanticCustomError(
                    "jwks",
                    "jwks: a confidential app's public JWK Set ({problem})",
                    {"problem": problem or "confidential apps only"},
                )
        if self.clinic_id is not None and self.kind != "confidential":
            raise PydanticCustomError(
                "app_kind", "a clinic's app is a confidential one (a server with a secret)"
            )
        return self


class AppUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = Field(
        default=None,
        description="false switches the app off: every member's grant to it ends at once.",
    )
    redirect_uris: list[str] | None = Field(default=None, max_length=10)

    @field_validator("redirect_uris")
    @classmethod
    def _exact_uris(cls, uris: list[str] | None) -> list[str] | None:
        return None if uris is None else AppCreate._exact_uris(uris)


class AppApproval(InputModel):
    model_config = ConfigDict(extra="forbid")

    first_party: bool = Field(
        default=False,
        description="The cooperative's own app: it may use the password grant. Third-party "
        "apps never may (RFC 9700).",
    )


class AppPublic(BaseModel):
    client_id: uuid.UUID
    name: str
    kind: AppKind
    redirect_uris: list[str]
    scopes: list[str]
    owner_account_id: uuid.UUID
    contact: str
    clinic_id: uuid.UUID | None
    first_party: bool
    is_active: bool
    approved: bool
    approved_at: Moment | None
    has_secret: bool
    secret_set_at: Moment | None
    token_endpoint_auth_method: Literal["none", "client_secret_basic", "private_key_jwt"]
    created_at: Moment


class AppCreated(AppPublic):
    client_secret: str | None = Field(
        description="Shown this once (confidential apps): Tequio keeps only its hash."
    )


class AppSecret(BaseModel):
    client_id: uuid.UUID
    client_secret: str = Field(description="Shown this once; the previous one stops working.")


class MyAppPublic(BaseModel):
    """An app holding a grant of yours."""

    client_id: uuid.UUID
    name: str
    contact: str
    scopes: list[str] = Field(description="What you allowed it.")
    granted_at: Moment
    last_used_at: Moment | None = Field(description="Its last token or read of your data.")


class AppName(BaseModel):
    client_id: uuid.UUID
    name: str
