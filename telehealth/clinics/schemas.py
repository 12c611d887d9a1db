import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, validate_email
from pydantic_core import PydanticCustomError

from cooperative.accounts import rules
from cooperative.kernel.errors import Text
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
    created_at: datetime


class PatientRegister(InputModel):
    """Register a patient with the clinic by the email or phone they use (or will sign up with)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "+52 951 100 0002"}]}
    )

    username: str = Field(
        min_length=1,
        max_length=254,
        description="An email, or a phone number in E.164 with its country code.",
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
    "If this email or phone belongs to someone with a Tequio account, or once someone signs up "
    "with it, they see your clinic's request and may accept it. Once they accept, they appear "
    "in your clinic's patients and you may book consults for them.",
    "Si este correo o teléfono es de alguien con cuenta en Tequio, o cuando alguien se registre "
    "con él, verá la solicitud de su clínica y podrá aceptarla. Cuando la acepte, aparecerá "
    "entre los pacientes de su clínica y podrá agendar consultas por esa persona.",
)


class RegistrationPending(BaseModel):
    """The same answer whether or not anyone has that email or phone: staff learn nothing
    about a person until that person accepts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "clinic_id": "5f0c8a1e-2b3d-4e6f-8a9b-0c1d2e3f4a5b",
                    "status": "pending",
                    "detail": REGISTRATION_PENDING.en,
                }
            ]
        }
    )

    clinic_id: uuid.UUID
    status: Literal["pending"] = "pending"
    detail: str = Field(description="What this answer means, in the language asked for.")


class RegistrationRequest(BaseModel):
    """A clinic asking the signed-in patient's consent to book consults for them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "clinic_id": "5f0c8a1e-2b3d-4e6f-8a9b-0c1d2e3f4a5b",
                    "clinic_name": "Clínica Rural San Miguel",
                    "municipality": "San Miguel Tlacotepec",
                    "registered_at": "2026-12-02T16:30:00Z",
                }
            ]
        }
    )

    clinic_id: uuid.UUID
    clinic_name: str
    municipality: str
    registered_at: datetime


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
    registered_at: datetime
    accepted_at: datetime
