import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners.fields import LanguageTag
from telehealth.prescriptions.schemas import PrescriptionBrief
from telehealth.records.schemas import DiagnosisPublic, NoteContent, SignaturePublic

UrgencyName = Literal["routine", "priority", "urgent"]
StateName = Literal[
    "sent", "accepted", "declined", "answered", "scheduled", "completed", "withdrawn"
]


class ReferralCreate(InputModel):
    """The referral note (NOM-004-SSA3-2012): why, what was found, what you think it is and
    what was given so far, for a patient registered with your clinic."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "clinic_id": "3f0d6c1e-8a4b-4c2e-9a57-2b1f0e6d7c8a",
                    "patient_account_id": "9b2e7f4a-1c3d-4e5f-8a6b-7c8d9e0f1a2b",
                    "specialty": "endocrinology",
                    "urgency": "priority",
                    "reason": "Glucosa en ayunas de 240 mg/dL pese a metformina",
                    "clinical_summary": "Mujer de 52 años con diabetes tipo 2 desde 2019...",
                    "diagnostic_impression": "Diabetes tipo 2 descontrolada",
                    "treatment_given": "Metformina 850 mg cada 12 horas desde marzo",
                    "language": "es",
                }
            ]
        },
    )

    clinic_id: uuid.UUID
    patient_account_id: uuid.UUID
    specialty: str = Field(
        max_length=40, description="A specialty code of `GET /v1/practitioners/specialties`."
    )
    urgency: UrgencyName = "routine"
    reason: str = Field(min_length=3, max_length=500)
    clinical_summary: str = Field(min_length=3, max_length=4000)
    diagnostic_impression: str = Field(min_length=3, max_length=1000)
    treatment_given: str = Field(
        min_length=1,
        max_length=2000,
        description="What the clinic gave so far; `ninguno` if nothing.",
    )
    language: LanguageTag = Field(description="The language the patient speaks.")
    interpreter_language: LanguageTag | None = Field(
        default=None, description="Set when the patient needs an interpreter, to this language."
    )

    @field_validator("specialty")
    @classmethod
    def _known_specialty(cls, value: str) -> str:
        if value not in practitioner_rules.SPECIALTIES:
            raise PydanticCustomError(
                "specialty", "unknown specialty code: {code}", {"code": value}
            )
        return value


class ReferralDecline(InputModel):
    reason: str = Field(min_length=3, max_length=500, description="Why, for the clinic.")


class Interconsultation(InputModel):
    """The specialist's interconsultation note: what they found in what the clinic sent (or in
    the consult), their diagnostic impression, and the plan the clinic is to follow."""

    findings: str = Field(min_length=3, max_length=4000)
    diagnostic_impression: str = Field(min_length=3, max_length=1000)
    plan: str = Field(min_length=3, max_length=4000, description="Treatment and indications.")
    follow_up: str | None = Field(
        default=None, max_length=1000, description="When and how to see the patient again."
    )


class AnswerSignature(BaseModel):
    """Who answered and when: the specialist's name and licence from their licence record (the
    cédula profesional for a clinic in Mexico), as a signed note is stamped."""

    name: str
    licence: str = Field(description="Cédula profesional (or the licence of the jurisdiction).")
    jurisdiction: str
    signed_at: Moment
    digest: str | None = Field(
        default=None,
        description="SHA-256 (hex) of the answer's canonical content with this stamp, as a "
        "signed note's digest (null on answers stamped before digests).",
    )


class AnswerPublic(BaseModel):
    """The specialist's written answer (eConsult), stamped with who gave it and when."""

    findings: str
    diagnostic_impression: str
    plan: str
    follow_up: str | None = None
    signature: AnswerSignature | None = Field(
        default=None,
        description="Who answered and when (null only on answers given before "
        "answers were stamped).",
    )


class CounterReferralNote(BaseModel):
    """The specialist's signed note of the consult, as it was signed: the clinical content
    (subjective, objective with vital signs, assessment, plan), the diagnoses with their CIE-10
    codes, and the signature (name, cédula, time, SHA-256 digest of the note)."""

    note_id: uuid.UUID
    appointment_id: uuid.UUID
    kind: str = Field(description="interconsultation (nota de interconsulta) or evolution")
    content: NoteContent
    diagnoses: list[DiagnosisPublic]
    signature: SignaturePublic


class CounterReferralAddendum(BaseModel):
    """A signed correction or addition to the note, made after it was returned."""

    id: uuid.UUID
    text: str
    signature: SignaturePublic


class CounterReferralPublic(BaseModel):
    """What comes back to the clinic after the consult: the specialist's signed note and the
    consult's prescriptions. The note is as signed (corrections follow as addenda); the
    prescriptions are as they stand now, so a revoked one says so."""

    returned_at: Moment = Field(description="When the referral was completed with it.")
    note: CounterReferralNote
    addenda: list[CounterReferralAddendum]
    prescriptions: list[PrescriptionBrief]


class ReferralSchedule(InputModel):
    appointment_id: uuid.UUID = Field(
        description="A consult booked for the patient with the specialist who accepted."
    )


class ReferralEventPublic(BaseModel):
    type: str
    state: StateName
    at: Moment


class OpenReferralPublic(BaseModel):
    """A referral waiting for a specialist, as the specialists of its specialty see it: what
    they need to decide, not who the patient is (they learn that once they accept)."""

    id: uuid.UUID
    clinic_name: str
    clinic_jurisdiction: str
    specialty: str
    urgency: UrgencyName
    reason: str
    clinical_summary: str
    diagnostic_impression: str
    treatment_given: str
    language: str
    interpreter_language: str | None
    state: StateName
    created_at: Moment
    waited_seconds: int = Field(description="Since the clinic sent it (until it closed).")


class ReferralPublic(OpenReferralPublic):
    """A referral as the referring clinic, the patient and the specialist who accepted it see it."""

    clinic_id: uuid.UUID
    patient_account_id: uuid.UUID
    patient_name: str
    practitioner_id: uuid.UUID | None
    practitioner_name: str | None
    decline_reason: str | None
    answer: AnswerPublic | None = Field(description="The written answer (eConsult).")
    appointment_id: uuid.UUID | None
    counter_referral: CounterReferralPublic | None = Field(
        description="Once completed: the specialist's signed note of the consult and its "
        "prescriptions, returned to the clinic."
    )
    closed_at: Moment | None
    history: list[ReferralEventPublic]
