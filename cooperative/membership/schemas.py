"""What crosses the API about members, households, dependents, attestations and fee classes."""

import uuid
from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.money import Currency
from cooperative.kernel.schemas import InputModel
from cooperative.membership import rules


def _curp(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return rules.normalize_curp(value)
    except ValueError as exc:
        raise PydanticCustomError("curp", str(exc)) from exc


class MemberApply(InputModel):
    """Apply to become a member-owner. Only a name is required; a CURP or a consular ID is optional.

    Tequio never asks for immigration status or a US Social Security number.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_class": "patient",
                    "full_name": "Rosa Martínez López",
                    "share_instalments": 5,
                }
            ]
        },
    )

    member_class: str = Field(min_length=1, max_length=32, examples=["patient"])
    full_name: str = Field(min_length=1, max_length=200)
    curp: str | None = Field(default=None, max_length=24, description="Optional; checked.")
    matricula_consular: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9-]{5,32}$", description="Optional consular ID number."
    )
    share_instalments: int = Field(default=1, ge=1, le=60)
    share_currency: Currency = Field(
        default="MXN", description="The currency you pay the share in."
    )

    _check_curp = field_validator("curp")(_curp)


class MemberPublic(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    member_class: str
    status: str = Field(description="applicant, active, lapsed, suspended, withdrawn or rejected")
    in_good_standing: bool
    full_name: str
    curp: str | None = Field(description="As given when applying.")
    matricula_consular: str | None
    household_id: uuid.UUID | None
    bylaws_version: int
    applied_at: Moment
    decided_at: Moment | None
    status_reason: str | None
    needs_review: Literal["curp-on-file"] | None = Field(
        default=None,
        description="Admins only (always null for anyone else): `curp-on-file` when the CURP "
        "given is already on another membership; it cannot be approved until an admin decides "
        "who holds it (`POST /v1/members/{id}/curp-review`).",
    )
    curp_on_file_with: uuid.UUID | None = Field(
        default=None, description="Admins only: the membership that holds that CURP now."
    )


class CurpReview(InputModel):
    """An admin's decision, after checking identity documents, on a CURP two memberships give."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "holder"}]}
    )

    decision: Literal["holder", "not-holder"] = Field(
        description="`holder`: this applicant holds the CURP; it is taken off the membership that "
        "had it. `not-holder`: it is not theirs; it is dropped from this application, which may "
        "then be decided without a CURP."
    )


class MemberDecision(InputModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class HouseholdCreate(InputModel):
    """A household is the unit of coverage. `role: sponsor` creates one you pay for but do not
    live in (for example, your family in Mexico while you work in the US)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Familia García",
                    "country": "MX",
                    "subdivision": "MX-MIC",
                    "municipality": "Morelia",
                    "area": "urban",
                    "role": "sponsor",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=120)
    country: Literal["MX", "US"]
    subdivision: str = Field(min_length=2, max_length=6, description="ISO 3166-2: MX-OAX, US-CA")
    municipality: str = Field(min_length=1, max_length=120)
    area: Literal["urban", "rural"]
    role: Literal["covered", "sponsor"] = "covered"

    @model_validator(mode="after")
    def _subdivision(self) -> Self:
        try:
            self.subdivision = rules.normalize_subdivision(self.country, self.subdivision)
        except ValueError as exc:
            raise PydanticCustomError("subdivision", str(exc)) from exc
        return self


class HouseholdUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    municipality: str | None = Field(default=None, min_length=1, max_length=120)
    area: Literal["urban", "rural"] | None = None


class DependentCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    relationship: str | None = Field(default=None, max_length=32, examples=["hija"])
    curp: str | None = Field(default=None, max_length=24)

    _check_curp = field_validator("curp")(_curp)


class DependentPublic(BaseModel):
    id: uuid.UUID
    full_name: str
    birth_year: int | None
    relationship: str | None
    curp: str | None


class InvitationSent(BaseModel):
    """An invitation as the household sees it: to whom, and the answer."""

    id: uuid.UUID
    member_id: uuid.UUID
    status: Literal["pending", "accepted", "declined"]
    invited_at: Moment
    answered_at: Moment | None


class InvitationReceived(BaseModel):
    """An invitation as the invited member sees it: the household's name and place and who
    invited them; nothing about its income, dependents or members."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "4b8e2d0c-6f7a-4d1e-9c3b-2a5f8e7d6c1b",
                    "household_id": "9d2c4e6f-1a3b-4c5d-8e7f-0a1b2c3d4e5f",
                    "household_name": "Familia García",
                    "country": "MX",
                    "municipality": "Morelia",
                    "invited_by": "Juan García",
                    "invited_at": "2026-12-02T16:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    household_id: uuid.UUID
    household_name: str
    country: str
    municipality: str
    invited_by: str | None = Field(description="The inviter's name, as their account shows it.")
    invited_at: Moment


class HouseholdPublic(BaseModel):
    id: uuid.UUID
    name: str
    country: str
    subdivision: str
    municipality: str
    area: str
    currency: str
    sponsor_member_id: uuid.UUID | None
    member_ids: list[uuid.UUID] = Field(description="Member-owners the household covers.")
    invited_member_ids: list[uuid.UUID] = Field(description="Invited, not yet answered.")
    invitations: list[InvitationSent] = Field(
        default_factory=list, description="Every invitation not withdrawn, newest first."
    )
    dependents: list[DependentPublic]
    created_at: Moment


class MemberAdd(InputModel):
    model_config = ConfigDict(extra="forbid")

    member_id: uuid.UUID


class AttestationCreate(InputModel):
    """Household income and size, as you declare them. Nothing else (no assets) is asked.

    US households usually declare annual income in USD; Mexican households monthly income in MXN.
    Amounts are in minor units (cents, centavos).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "income_minor": 1200000,
                    "currency": "MXN",
                    "period": "monthly",
                    "household_size": 4,
                }
            ]
        },
    )

    income_minor: int = Field(ge=0, le=10**12)
    currency: Currency
    period: Literal["annual", "monthly"]
    household_size: int = Field(ge=1, le=40)
    effective_on: date | None = Field(default=None, description="Default: today.")


class AttestationPublic(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    income_minor: int
    currency: str
    period: str
    household_size: int
    effective_on: date
    expires_on: date
    created_at: Moment


class Amount(BaseModel):
    amount_minor: int
    currency: str
    formatted: str


class FeeExplanation(BaseModel):
    table: str = Field(examples=["HHS 2026, 48 states + DC"])
    source: str
    table_effective: date
    poverty_line: Amount = Field(description="For this household's size, over `period`.")
    period: str
    household_size: int
    income: Amount
    percent_of_poverty_line: str = Field(examples=["87.25"], description="Rounded for display.")
    percent_exact: str = Field(description="The exact fraction used, e.g. `3490/40`.")


class FeeClassPublic(BaseModel):
    household_id: uuid.UUID
    code: str
    label: dict[str, str]
    nominal: bool
    basis: Literal["attested", "expired", "none"]
    dues: Amount
    consult_fee: Amount
    explanation: FeeExplanation | None
    attestation_expires_on: date | None
    summary: dict[str, str] = Field(description="A sentence in English and Spanish.")
    bylaws_version: int
    computed_on: date
