import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, validate_email
from pydantic_core import PydanticCustomError

from cooperative.accounts import rules
from cooperative.kernel.errors import Text
from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel
from telehealth.practitioners.fields import TimeZoneName, VisitJurisdiction


class ClinicCreate(InputModel):
    name: str = Field(min_length=1, max_length=120)
    jurisdiction: VisitJurisdiction
    municipality: str = Field(min_length=1, max_length=120)
    rural: bool = False
    timezone: TimeZoneName


class ClinicPublic(BaseModel):
    id: uuid.UUID
    name: str
    jurisdiction: str
    municipality: str
    rural: bool
    timezone: str
    created_at: Moment


class PatientRegister(InputModel):
    """Register a patient with the clinic by the email or phone they use (or will sign up with)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "+52 951 100 0002"}]}
    )

    username: str = Field(
        min_length=1,
        max_length=254,
        description="An email, or a Mexican or US phone number as people write it "
        "(`951 100 0002`, `+52 1 951 100 0002`, `(213) 555-0100`).",
    )

    @field_validator("username")
    @classmethod
    def _contact(cls, value: str) -> str:
        if rules.looks_like_email(value):
            validate_email(value)  # a PydanticCustomError (422) when it is not an email
            return rules.normalize_email(value)
        try:
            return rules.normalize_phone(value)
        except ValueError as exc:
            raise PydanticCustomError("phone_e164", str(exc)) from exc


REGISTRATION_PENDING = Text(
    "Give the person this code, in person or by phone. Once they have a Tequio account with "
    "this email or phone (they may already), they accept with the code within 7 days; then they "
    "appear in your clinic's patients and you may book consults for them. Until then you learn "
    "nothing about them.",
    "Dé este código a la persona, en persona o por teléfono. Cuando tenga cuenta en Tequio con "
    "este correo o teléfono (puede que ya la tenga), la acepta con el código en 7 días; entonces "
    "aparecerá entre los pacientes de su clínica y podrá agendar consultas por ella. Hasta "
    "entonces no sabrá nada de ella.",
)


class RegistrationPending(BaseModel):
    """The same answer whether or not anyone has that email or phone: staff learn nothing
    about a person until that person accepts with the code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "clinic_id": "5f0c8a1e-2b3d-4e6f-8a9b-0c1d2e3f4a5b",
                    "status": "pending",
                    "code": "4821 9937",
                    "detail": REGISTRATION_PENDING.en,
                }
            ]
        }
    )

    clinic_id: uuid.UUID
    status: Literal["pending"] = "pending"
    code: str = Field(
        description="For the patient only: they accept with it (7 days, five tries). Registering "
        "the same contact again gives a new code."
    )
    detail: str = Field(description="What this answer means, in the language asked for.")


class RegistrationAnswer(InputModel):
    """The code the clinic's staff gave you."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "4821 9937"}]}
    )

    code: str = Field(min_length=8, max_length=16, pattern=r"^[0-9 -]+$")


class ClinicPatientPublic(BaseModel):
    """A patient who accepted the clinic's registration: its staff may book for them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "clinic_id": "5f0c8a1e-2b3d-4e6f-8a9b-0c1d2e3f4a5b",
                    "account_id": "0b7d9e2a-4c6f-4a1b-9d3e-5f7a9c1e3b5d",
                    "display_name": "Rosa Martínez",
                    "registered_at": "2026-12-02T16:30:00Z",
                    "accepted_at": "2026-12-02T16:42:00Z",
                }
            ]
        }
    )

    clinic_id: uuid.UUID
    account_id: uuid.UUID = Field(description="Give it as `patient_account_id` when booking.")
    display_name: str
    registered_at: Moment
    accepted_at: Moment
