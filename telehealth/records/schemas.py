"""The clinical record as the API shows and takes it."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel
from telehealth.records import rules

Language = Literal["es", "en"]


class Subjective(InputModel):
    reason: str = Field(default="", max_length=1000, description="Motivo de consulta.")
    current_illness: str = Field(
        default="", max_length=8000, description="Padecimiento actual, in the patient's words."
    )


class VitalSigns(InputModel):
    """Vital signs when someone (usually the clinic's nurse) measured them, each in the unit its
    name says; values outside what a living person shows are refused as typing mistakes."""

    systolic_mmhg: int | None = Field(default=None, ge=50, le=260)
    diastolic_mmhg: int | None = Field(default=None, ge=20, le=160)
    heart_rate_bpm: int | None = Field(default=None, ge=20, le=250)
    respiratory_rate_rpm: int | None = Field(default=None, ge=4, le=80)
    temperature_c: float | None = Field(default=None, ge=30, le=45)
    spo2_pct: int | None = Field(default=None, ge=50, le=100)
    weight_kg: float | None = Field(default=None, ge=0.3, le=350)
    height_cm: float | None = Field(default=None, ge=20, le=250)
    glucose_mg_dl: int | None = Field(default=None, ge=10, le=1500)
    measured_by: str = Field(default="", max_length=200, description="Who measured them.")

    @model_validator(mode="after")
    def _pressure_in_order(self) -> "VitalSigns":
        if (
            self.systolic_mmhg is not None
            and self.diastolic_mmhg is not None
            and self.diastolic_mmhg >= self.systolic_mmhg
        ):
            raise ValueError("the diastolic pressure must be below the systolic")
        return self


class Objective(InputModel):
    findings: str = Field(default="", max_length=8000, description="Exploración física.")
    vital_signs: VitalSigns | None = None


class DiagnosisIn(InputModel):
    code: str = Field(min_length=3, max_length=8, description="A CIE-10 code of the shipped list.")
    note: str = Field(default="", max_length=500)

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in rules.cie10():
            raise ValueError("not a CIE-10 code of Tequio's list (GET /v1/records/cie10)")
        return code


class Assessment(InputModel):
    diagnoses: list[DiagnosisIn] = Field(default_factory=list, max_length=12)
    impression: str = Field(default="", max_length=8000, description="Free text.")


class Plan(InputModel):
    treatment: str = Field(default="", max_length=8000)
    indications: str = Field(default="", max_length=8000)
    follow_up: str = Field(default="", max_length=2000)


class NoteContent(InputModel):
    subjective: Subjective = Field(default_factory=Subjective)
    objective: Objective = Field(default_factory=Objective)
    assessment: Assessment = Field(default_factory=Assessment)
    plan: Plan = Field(default_factory=Plan)


class PatientSummary(InputModel):
    """What the patient reads, in plain words and in their language, apart from the clinical
    text: what was found, what to do, when to come back."""

    language: Language = "es"
    found: str = Field(default="", max_length=4000)
    to_do: str = Field(default="", max_length=4000)
    come_back: str = Field(default="", max_length=1000)


class NoteDraft(InputModel):
    version: int = Field(
        ge=0,
        le=1_000_000,
        description="The version you last saw (0 for a new note). A save over a newer version "
        "is refused (409); a retry of a save that went through is answered with the note.",
    )
    content: NoteContent = Field(default_factory=NoteContent)
    summary: PatientSummary = Field(default_factory=PatientSummary)


class SignIn(InputModel):
    version: int = Field(ge=1, le=1_000_000, description="The version you read and sign.")


class AddendumIn(InputModel):
    text: str = Field(min_length=1, max_length=8000, description="The correction or addition.")
    summary: PatientSummary | None = Field(
        default=None, description="A new summary for the patient, if it changes."
    )


class DiagnosisPublic(BaseModel):
    code: str
    description: str
    note: str = ""


class SignaturePublic(BaseModel):
    signed_at: Moment
    name: str
    licence: str = Field(description="Cédula profesional (or the licence of the jurisdiction).")
    jurisdiction: str
    digest: str = Field(description="SHA-256 of the note's canonical content (hex).")


class AddendumPublic(BaseModel):
    id: uuid.UUID
    text: str
    summary: PatientSummary | None
    signature: SignaturePublic


class NotePublic(BaseModel):
    id: uuid.UUID
    appointment_id: uuid.UUID
    kind: str = Field(description="evolution (nota de evolución) or interconsultation")
    version: int
    status: Literal["draft", "signed"]
    content: NoteContent
    diagnoses: list[DiagnosisPublic]
    summary: PatientSummary
    updated_at: Moment
    signature: SignaturePublic | None
    addenda: list[AddendumPublic]


class SummaryPublic(BaseModel):
    """A signed note as the patient's record lists it."""

    note_id: uuid.UUID
    appointment_id: uuid.UUID
    dependent_id: uuid.UUID | None
    doctor: str
    signed_at: Moment
    summary: PatientSummary
    addenda: list[PatientSummary]


class CodePublic(BaseModel):
    code: str
    description: str


class ConsentTextPublic(BaseModel):
    version: int
    language: Language
    text: str
    digest: str


class ConsentIn(InputModel):
    version: int = Field(ge=1, le=10_000, description="The version of the text you read.")
    language: Language = Field(description="The language you read it in.")
    dependent_id: uuid.UUID | None = Field(
        default=None, description="A dependent of your household you consent for."
    )


class ConsentPublic(BaseModel):
    id: uuid.UUID
    version: int
    language: str
    dependent_id: uuid.UUID | None
    given_at: Moment


class PresencePublic(BaseModel):
    account_id: uuid.UUID
    role: str
    seconds: int = Field(description="How long they were in the room, all their stays summed.")
    stays: list[tuple[Moment, Moment | None]] = Field(
        description="Each stay: when they arrived and when they left (null: still there)."
    )


class ModalityPublic(BaseModel):
    modality: Literal["video", "audio_only", "relayed"]
    start: Moment
    end: Moment | None


class EncounterPublic(BaseModel):
    appointment_id: uuid.UUID
    took_place: bool = Field(description="Whether the doctor and the patient side met.")
    modality: Literal["video", "audio_only", "relayed", "switched"] | None
    modalities: list[ModalityPublic]
    present: list[PresencePublic]
    consent: ConsentPublic | None = Field(
        description="The patient's consent to be seen remotely, if given (latest version)."
    )
    note_status: Literal["none", "draft", "signed"]
