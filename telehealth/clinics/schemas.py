import uuid
from datetime import datetime

from pydantic import BaseModel, Field

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
    """Register a patient with the clinic by the email or phone they signed up with."""

    username: str = Field(min_length=1, max_length=254, examples=["+52 951 100 0002"])


class ClinicPatientPublic(BaseModel):
    clinic_id: uuid.UUID
    account_id: uuid.UUID
    display_name: str
    registered_at: datetime
    accepted: bool = Field(description="Staff may book for the patient once they accept.")
