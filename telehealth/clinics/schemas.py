import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.schemas import InputModel
from telehealth.practitioners import rules


class ClinicCreate(InputModel):
    name: str = Field(min_length=1, max_length=120)
    jurisdiction: str = Field(max_length=8, examples=["MX-OAX"])
    municipality: str = Field(min_length=1, max_length=120)
    rural: bool = False
    timezone: str = Field(max_length=64, examples=["America/Mexico_City"])

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, value: str) -> str:
        try:
            return rules.normalize_visit_jurisdiction(value)
        except ValueError as exc:
            raise PydanticCustomError("jurisdiction", str(exc)) from exc

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            return rules.valid_timezone(value)
        except ValueError as exc:
            raise PydanticCustomError("timezone", str(exc)) from exc


class ClinicPublic(BaseModel):
    id: uuid.UUID
    name: str
    jurisdiction: str
    municipality: str
    rural: bool
    timezone: str
    created_at: datetime


class StaffAdd(InputModel):
    account_id: uuid.UUID


class PatientRegister(InputModel):
    """Register a patient with the clinic by the email or phone they signed up with."""

    username: str = Field(min_length=1, max_length=254, examples=["+52 951 100 0002"])


class ClinicPatientPublic(BaseModel):
    clinic_id: uuid.UUID
    account_id: uuid.UUID
    display_name: str
    registered_at: datetime
    accepted: bool = Field(description="Staff may book for the patient once they accept.")
