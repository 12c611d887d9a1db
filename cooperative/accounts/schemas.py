"""What crosses the API about accounts and tokens."""

import uuid
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    field_validator,
)
from pydantic import model_validator as model_check
from pydantic_core import PydanticCustomError

from cooperative.accounts import rules
from cooperative.kernel.errors import Text
from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel

LanguageCode = Literal["es", "en"]


def _e164(value: str) -> str | None:
    if not value:
        return None
    try:
        return rules.normalize_phone(value)
    except ValueError as exc:
        raise PydanticCustomError("phone_e164", str(exc)) from exc


# A contact as people type it, kept as the account keeps it: the email lower-cased, the phone in
# E.164 (sign-up and a change of contact read them alike).
ContactEmail = Annotated[EmailStr, AfterValidator(rules.normalize_email)]
ContactPhone = Annotated[str, AfterValidator(_e164)]


class AccountCreate(InputModel):
    """Sign up with an email, a phone number, or both. Nothing else about you is asked."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "phone": "+52 951 123 4567",
                    "password": "maíz azul de oaxaca",
                    "display_name": "Rosa Martínez",
                    "preferred_language": "es",
                },
                {
                    "email": "lupe@example.org",
                    "password": "correct horse battery",
                    "display_name": "Lupe",
                },
            ]
        },
    )

    email: ContactEmail | None = Field(default=None, max_length=254)
    phone: ContactPhone | None = Field(
        default=None,
        max_length=32,
        description="A Mexican or US number as people write it: `951 123 4567`, "
        "`+52 951 123 4567`, `+52 1 951 123 4567`, `(213) 555-0100`, `1 213 555 0100`. Stored "
        "and answered in E.164 (`+529511234567`).",
    )
    password: SecretStr = Field(description="At least 10 characters; common passwords refused.")
    display_name: str = Field(min_length=1, max_length=120, description="How we address you.")
    preferred_language: LanguageCode = "es"
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA time zone for showing times, optional."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise PydanticCustomError("timezone", f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("display_name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "display name must not be blank")
        return value.strip()

    @model_check(mode="after")
    def _needs_contact(self) -> Self:
        if self.email is None and self.phone is None:
            raise PydanticCustomError("contact_required", "give an email or a phone number")
        return self


SIGN_UP_ACCEPTED = Text(
    "If this email or phone number was not registered yet, its account is created: sign in with "
    "it and your password. If it was already registered, nothing changed: sign in with the "
    "password of that account.",
    "Si este correo o teléfono aún no estaba registrado, su cuenta quedó creada: inicie sesión "
    "con él y su contraseña. Si ya estaba registrado, nada cambió: inicie sesión con la "
    "contraseña de esa cuenta.",
)


class SignUpAccepted(BaseModel):
    """The same answer whether or not the contact was registered: nothing here tells them apart."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "+529511234567",
                    "detail": SIGN_UP_ACCEPTED.en,
                }
            ]
        }
    )

    username: str = Field(
        description="What to sign in with: the email (or else the phone number) as Tequio "
        "spells it."
    )
    detail: str = Field(description="What this answer means, in the language asked for.")


class AccountPublic(BaseModel):
    id: uuid.UUID
    email: str | None
    phone: str | None
    display_name: str
    roles: list[str]
    preferred_language: str
    timezone: str | None = None
    created_at: Moment


class MePublic(AccountPublic):
    scopes: list[str] = Field(description="The scopes of the token used for this request.")
    email_verified_at: Moment | None = Field(
        default=None, description="When the email was verified with a code; null: not yet."
    )
    phone_verified_at: Moment | None = Field(
        default=None, description="When the phone was verified with a code; null: not yet."
    )


class LoginRequest(InputModel):
    """Sign in. `username` is the email or the phone number the account was registered with."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "951 123 4567", "password": "maíz azul de oaxaca"}]
        },
    )

    grant_type: Literal["password"] | None = None
    username: str = Field(
        min_length=1,
        max_length=254,
        description="The email, or the phone number as you write it: `951 123 4567`, "
        "`+52 951 123 4567`, `52 951…`, `+52 1 951…` (the old mobile form), `044 951…`; in the "
        "US `(213) 555-0100`, `213-555-0100`, `1 213 555 0100`.",
    )
    password: SecretStr = Field(min_length=1, max_length=rules.MAX_PASSWORD_LENGTH)
    scope: str | None = Field(
        default=None, max_length=1000, description="Space-separated scopes; default: all granted."
    )
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: SecretStr | None = Field(default=None, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds the access token stays valid.")
    refresh_token: str | None = Field(
        default=None,
        description="Opaque; valid once. Store it safely. Not given for client credentials "
        "(RFC 6749 §4.4.3): the app asks again with its credentials.",
    )
    refresh_token_expires_in: int | None = None
    scope: str


class RefreshRequest(InputModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: SecretStr = Field(min_length=1, max_length=200)


class LogoutRequest(InputModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: SecretStr | None = Field(default=None, max_length=200)


class RoleGrantRequest(InputModel):
    """Give a role to an account (admin). `clinic_staff` names the clinic it works at."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "role": "clinic_staff",
                    "clinic_id": "5f0c7a52-3c1e-4b8e-9d7a-2c1f0e9b8a11",
                    "reason": "Enfermera de la Clínica San Miguel desde noviembre",
                }
            ]
        },
    )

    role: Literal["doctor", "clinic_staff", "board", "treasurer", "admin"]
    reason: str = Field(
        min_length=3, max_length=500, description="Why; the person concerned sees it."
    )
    clinic_id: uuid.UUID | None = Field(
        default=None, description="Required for clinic_staff, and only for it."
    )

    @model_check(mode="after")
    def _clinic_for_staff(self) -> Self:
        if (self.role == "clinic_staff") != (self.clinic_id is not None):
            raise PydanticCustomError(
                "clinic_for_staff", "clinic_id is required for clinic_staff and only for it"
            )
        return self


class RoleRevokeRequest(RoleGrantRequest):
    """Take a role away (admin), with the reason; for clinic_staff, from one clinic."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "board", "reason": "Term ended (assembly 2027)"}]},
    )


class RoleChangePublic(BaseModel):
    role: str
    action: Literal["granted", "revoked"]
    clinic_id: uuid.UUID | None
    reason: str
    by: str = Field(description="Who made the change: an admin's name, or the operator.")
    at: Moment


class RolesPublic(BaseModel):
    account_id: uuid.UUID
    roles: list[str] = Field(description="The roles held now.")
    clinic_ids: list[uuid.UUID] = Field(description="Clinics where the account is staff.")
    history: list[RoleChangePublic] = Field(description="Every change, oldest first.")


class AccountLookupPublic(BaseModel):
    id: uuid.UUID
    display_name: str
    roles: list[str]


_USERNAME = Field(
    min_length=1,
    max_length=254,
    description="The email or the phone number of the account, as you write it (as at sign-in).",
)
_CODE = Field(
    min_length=6,
    max_length=12,
    description="The six digits we sent (spaces and dashes are ignored).",
)
_NEW_PASSWORD = Field(
    max_length=rules.MAX_PASSWORD_LENGTH,
    description="At least 10 characters; common passwords refused (as at sign-up).",
)


def _digits(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


class CodeRequest(InputModel):
    """Ask for a code (again) for an account."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "951 123 4567"}]}
    )

    username: str = _USERNAME


class VerifyRequest(InputModel):
    """Verify a new account's contact with the code sent to it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "951 123 4567", "code": "042917"}]},
    )

    username: str = _USERNAME
    code: str = _CODE

    @field_validator("code")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _digits(value)


class RecoverConfirm(VerifyRequest):
    """A new password, with the code sent to the account's verified contact."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"username": "951 123 4567", "code": "042917", "new_password": "tejate frío"}
            ]
        },
    )

    new_password: SecretStr = _NEW_PASSWORD


class VerifyAccepted(BaseModel):
    detail: str = Field(description="What happened, in the language asked for.")


class CodeSent(BaseModel):
    """The same answer whether or not a code was sent: nothing here tells who is registered."""

    detail: str = Field(description="What this answer means, in the language asked for.")


class PasswordChange(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "maíz azul de oaxaca", "new_password": "tejate frío"}]
        },
    )

    current_password: SecretStr = Field(min_length=1, max_length=rules.MAX_PASSWORD_LENGTH)
    new_password: SecretStr = _NEW_PASSWORD


class ContactChange(InputModel):
    """A new email or phone number (one of them); a code goes to it first."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone": "+52 951 765 4321"}]}
    )

    email: ContactEmail | None = Field(default=None, max_length=254)
    phone: ContactPhone | None = Field(
        default=None, max_length=32, description="As at sign-up: stored in E.164."
    )

    @model_check(mode="after")
    def _one_contact(self) -> Self:
        if (self.email is None) == (self.phone is None):
            raise PydanticCustomError("one_contact", "give an email or a phone number, not both")
        return self

    @property
    def address(self) -> str:
        address = self.email or self.phone
        assert address is not None
        return address


class ContactConfirm(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "042917"}]})

    code: str = _CODE

    @field_validator("code")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _digits(value)
