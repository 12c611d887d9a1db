import uuid
from datetime import date, datetime, time
from typing import Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.schemas import InputModel
from cooperative.kernel.types import sane_moment
from telehealth.practitioners import rules
from telehealth.practitioners.fields import LanguageTag, LicenceJurisdiction, TimeZoneName


class PractitionerCreate(InputModel):
    """An admin gives a doctor account its practitioner profile."""

    account_id: uuid.UUID
    display_name: str = Field(min_length=1, max_length=120)
    specialties: list[str] = Field(min_length=1, max_length=10)
    languages: list[LanguageTag] = Field(min_length=1, max_length=10)
    timezone: TimeZoneName

    @field_validator("specialties")
    @classmethod
    def _known_specialties(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in rules.SPECIALTIES]
        if unknown:
            raise PydanticCustomError(
                "specialty", "unknown specialty codes: {codes}", {"codes": ", ".join(unknown)}
            )
        return value


class WindowIn(InputModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise PydanticCustomError("window", "a window ends after it starts, the same day")
        return self


class AvailabilityIn(InputModel):
    """Weekly windows in the practitioner's local time, and how slots are cut from them."""

    windows: list[WindowIn] = Field(max_length=50)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    buffer_minutes: int = Field(default=0, ge=0, le=120)
    min_notice_minutes: int = Field(default=120, ge=0, le=60 * 24 * 14)
    horizon_days: int = Field(default=60, ge=1, le=365)


class LicenceIn(InputModel):
    jurisdiction: LicenceJurisdiction
    number: str = Field(min_length=1, max_length=40)
    expires_on: date


class ExtraWindowIn(InputModel):
    day: date
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise PydanticCustomError("window", "a window ends after it starts, the same day")
        return self


class TimeOffIn(InputModel):
    start: datetime = Field(description="RFC 3339 with offset.")
    end: datetime
    reason: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        try:
            sane_moment(self.start)
            sane_moment(self.end)
        except ValueError as exc:
            raise PydanticCustomError("moment", str(exc)) from exc
        if self.end <= self.start:
            raise PydanticCustomError("window", "time off ends after it starts")
        return self


class LicencePublic(BaseModel):
    jurisdiction: str
    number: str
    expires_on: date


class WindowPublic(BaseModel):
    weekday: int
    start: time
    end: time


class PractitionerPublic(BaseModel):
    id: uuid.UUID
    display_name: str
    specialties: list[str]
    languages: list[str]
    timezone: str
    slot_minutes: int
    buffer_minutes: int
    min_notice_minutes: int
    horizon_days: int
    licences: list[LicencePublic]
    windows: list[WindowPublic]


class TimeOffPublic(BaseModel):
    id: uuid.UUID
    start: datetime
    end: datetime
    reason: str | None
    appointments_to_reschedule: list[uuid.UUID]
