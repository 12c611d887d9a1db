import uuid
from datetime import date, datetime, time
from typing import Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel
from cooperative.kernel.types import sane_moment
from telehealth.practitioners import rules
from telehealth.practitioners.fields import (
    LanguageTag,
    LicenceJurisdiction,
    TimeZoneName,
    WallTime,
    WallTimeOut,
)


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


_START = "The start on the practitioner's own clock: HH:MM or HH:MM:SS, without a UTC offset."
_END = "The end on the practitioner's own clock (HH:MM or HH:MM:SS), after the start."


def _same_day(start: time, end: time) -> None:
    if end <= start:
        raise PydanticCustomError(
            "window", "a window ends after it starts, on the same day (no overnight windows)"
        )


class WindowIn(InputModel):
    """Availability every week on one weekday, on the practitioner's own clock."""

    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday", examples=[0])
    start: WallTime = Field(description=_START, examples=["09:00"])
    end: WallTime = Field(description=_END, examples=["14:00"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _same_day(self.start, self.end)
        return self


class AvailabilityIn(InputModel):
    """Weekly windows in the practitioner's local time, and how slots are cut from them."""

    windows: list[WindowIn] = Field(
        max_length=50,
        description="Each window once; windows that overlap or touch join into one.",
        examples=[[{"weekday": 0, "start": "09:00", "end": "14:00"}]],
    )
    slot_minutes: int = Field(default=30, ge=5, le=240)
    buffer_minutes: int = Field(default=0, ge=0, le=120)
    min_notice_minutes: int = Field(default=120, ge=0, le=60 * 24 * 14)
    horizon_days: int = Field(default=60, ge=1, le=rules.MAX_HORIZON_DAYS)

    @model_validator(mode="after")
    def _each_window_once(self) -> Self:
        seen: set[tuple[int, time, time]] = set()
        for window in self.windows:
            key = (window.weekday, window.start, window.end)
            if key in seen:
                raise PydanticCustomError(
                    "duplicate_window",
                    "the window {start}-{end} on weekday {weekday} is given twice",
                    {"weekday": window.weekday, "start": window.start, "end": window.end},
                )
            seen.add(key)
        return self


class LicenceIn(InputModel):
    jurisdiction: LicenceJurisdiction
    number: str = Field(min_length=1, max_length=40)
    specialty_cedula: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="MX only: the cédula de especialidad, for a doctor who has one.",
    )
    expires_on: date

    @model_validator(mode="after")
    def _specialty_in_mexico(self) -> Self:
        if self.specialty_cedula is not None and self.jurisdiction != "MX":
            raise PydanticCustomError(
                "specialty_cedula", "a cédula de especialidad belongs to a MX licence"
            )
        return self


class ExtraWindowIn(InputModel):
    """Availability added on one date of the practitioner's calendar, on top of the weekly
    windows: from today to a year ahead."""

    day: date = Field(description="The practitioner's local date.", examples=["2027-01-09"])
    start: WallTime = Field(description=_START, examples=["10:00"])
    end: WallTime = Field(description=_END, examples=["13:00"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _same_day(self.start, self.end)
        return self


class TimeOffIn(InputModel):
    """A span without consults: it ends after now and within a year; it may start up to a day
    ago."""

    start: datetime = Field(
        description="RFC 3339 with offset.", examples=["2027-01-11T08:00:00-06:00"]
    )
    end: datetime = Field(
        description="RFC 3339 with offset, after the start.",
        examples=["2027-01-15T20:00:00-06:00"],
    )
    reason: str | None = Field(
        default=None,
        max_length=200,
        description="For the doctor and admins only; never shown to patients.",
        examples=["congreso"],
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        try:
            sane_moment(self.start)
            sane_moment(self.end)
        except ValueError as exc:
            raise PydanticCustomError("moment", str(exc)) from exc
        if self.end <= self.start:
            raise PydanticCustomError("time_off_order", "time off ends after it starts")
        return self


class LicencePublic(BaseModel):
    jurisdiction: str
    number: str
    specialty_cedula: str | None = None
    expires_on: date


class WindowPublic(BaseModel):
    weekday: int = Field(description="0 = Monday … 6 = Sunday")
    start: WallTimeOut
    end: WallTimeOut


class ExtraWindowPublic(BaseModel):
    """An extra window as stored, with the id to delete it by."""

    id: uuid.UUID
    day: date = Field(description="The practitioner's local date.")
    start: WallTimeOut
    end: WallTimeOut
    created_at: Moment
    valid: bool = Field(
        description="False for a window stored before today's checks that offers no slots "
        "(one that ends before it starts, say): delete it and add it again."
    )


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
    start: Moment
    end: Moment
    reason: str | None
    appointments_to_reschedule: list[uuid.UUID] = Field(
        description="Bookings inside the time off, now flagged `needs_reschedule`."
    )


class TimeOffEntryPublic(BaseModel):
    """Time off as stored, with the id to delete it by."""

    id: uuid.UUID
    start: Moment
    end: Moment
    reason: str | None
    created_at: Moment
    valid: bool = Field(
        description="False for time off stored before today's checks that the slot rules "
        "cannot use (one that ends before it starts, say): delete it and add it again."
    )
