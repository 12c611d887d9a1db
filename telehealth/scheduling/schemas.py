import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel
from cooperative.kernel.types import sane_moment
from telehealth.practitioners.fields import LanguageTag, VisitJurisdiction
from telehealth.scheduling.rules import AppointmentStatus, RecordedStatus


def _aware(value: datetime) -> datetime:
    try:
        return sane_moment(value)
    except ValueError as exc:
        raise PydanticCustomError("moment", str(exc)) from exc


class AppointmentCreate(InputModel):
    """Book a consult. Patients book for themselves (or a dependent of their household); clinic
    staff book for patients registered with their clinic, giving the clinic and the referral."""

    practitioner_id: uuid.UUID
    start: datetime = Field(description="A slot's start, RFC 3339 with offset.")
    patient_jurisdiction: VisitJurisdiction = Field(
        description="Where the patient will be during the consult: MX, MX-BCN, US-CA…"
    )
    reason: str | None = Field(default=None, max_length=500)
    preferred_language: LanguageTag = "es"
    interpreter_needed: bool = False
    patient_account_id: uuid.UUID | None = Field(
        default=None, description="For clinic staff and admins: whom the consult is for."
    )
    dependent_id: uuid.UUID | None = Field(
        default=None, description="A dependent of the household."
    )
    clinic_id: uuid.UUID | None = None
    referral_reason: str | None = Field(default=None, max_length=1000)

    _aware_start = field_validator("start")(_aware)

    @model_validator(mode="after")
    def _referral(self) -> Self:
        if self.clinic_id is not None and not (self.referral_reason or "").strip():
            raise PydanticCustomError(
                "referral_required", "a clinic-assisted consult carries its referral reason"
            )
        return self


class CancelIn(InputModel):
    reason: str = Field(min_length=1, max_length=500)


class RescheduleIn(InputModel):
    start: datetime

    _aware_start = field_validator("start")(_aware)


class StatusIn(InputModel):
    status: RecordedStatus
    reason: str | None = Field(default=None, max_length=500)


class RefundIn(InputModel):
    reason: str = Field(min_length=3, max_length=500)


class PractitionerSummary(BaseModel):
    id: uuid.UUID
    display_name: str
    specialties: list[str]
    languages: list[str]
    timezone: str


class SlotPublic(BaseModel):
    start: Moment = Field(description="In the time zone asked for.")
    end: Moment
    practitioner_start: datetime = Field(description="The same instant in the doctor's time zone.")
    practitioner_id: uuid.UUID = Field(description="A key of the page's `practitioners`.")
    free_cancellation_until: Moment | None = Field(
        default=None,
        description="Booked now, the consult may be cancelled free of charge until this moment "
        "(the bylaws' late-cancellation window before the start), in the zone asked for; "
        "null when no bylaws are installed.",
    )


class SlotPage(BaseModel):
    """A page of open slots: each doctor on the page is given once, in `practitioners`, and
    each slot names its doctor by id."""

    items: list[SlotPublic]
    practitioners: dict[uuid.UUID, PractitionerSummary] = Field(
        description="The doctors of this page's slots, by id."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class FeePublic(BaseModel):
    amount_minor: int
    currency: str
    fee_class: str
    explanation: dict[str, Any] = Field(
        description="How the fee was set. The patient's household (and admins) see the poverty "
        "line and the exact percentage; the doctor and the clinic see only the `basis`."
    )
    bylaws_version: int


class PatientSummary(BaseModel):
    """Whose consult it is, for those who need to know: the patient, the doctor, and the
    staff of the clinic the patient accepted (each read is in the patient's access log)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "0b7d9e2a-4c6f-4a1b-9d3e-5f7a9c1e3b5d",
                    "display_name": "Rosa Martínez",
                    "dependent_name": None,
                }
            ]
        }
    )

    account_id: uuid.UUID
    display_name: str = Field(description="The patient's (or responsible member's) name.")
    dependent_name: str | None = Field(
        description="For a consult booked for a dependent of the household: the dependent's name."
    )


class AppointmentPublic(BaseModel):
    id: uuid.UUID
    practitioner: PractitionerSummary = Field(
        description="The doctor, by name and title (`Dra. Ana López`), specialties and languages."
    )
    patient_account_id: uuid.UUID
    patient: PatientSummary | None = Field(
        default=None,
        description="The patient's name, for the patient, the doctor and the staff of the "
        "clinic the patient accepted; null for anyone else (an admin, staff of a clinic the "
        "patient has left).",
    )
    dependent_id: uuid.UUID | None
    booked_by: uuid.UUID
    clinic_id: uuid.UUID | None
    start: Moment
    end: Moment
    practitioner_start: datetime = Field(description="The start in the doctor's time zone.")
    status: AppointmentStatus = Field(
        description="FHIR: booked, arrived, fulfilled, cancelled, noshow…"
    )
    patient_jurisdiction: str
    reason: str | None
    referral_reason: str | None
    preferred_language: str
    interpreter_needed: bool
    fee: FeePublic
    needs_reschedule: bool
    late_cancellation: bool
    free_cancellation_until: Moment | None = Field(
        default=None,
        description="Until when cancelling is free (the bylaws' late-cancellation window before "
        "the start), in the reader's zone like every instant; later it is marked late. Null once "
        "the consult can no longer be cancelled.",
    )
    status_reason: str | None
    created_at: Moment


class EventPublic(BaseModel):
    type: str
    at: Moment
    actor_account_id: uuid.UUID | None
    payload: dict[str, bool | int | str | None] = Field(
        description="What the event says, typed: `late` is a boolean, `patronage` a count, "
        "`start` and `previous` instants in your zone, `reason` text."
    )
