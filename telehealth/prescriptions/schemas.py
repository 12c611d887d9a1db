"""What crosses the API: a prescription as the doctor writes it, as its patient and doctor read
it, and the little a pharmacy sees when it verifies one."""

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel


def _stripped(value: str) -> str:
    clean = " ".join(value.split())
    if not clean:
        raise PydanticCustomError("blank", "give some text, not only spaces")
    return clean


class DrugLine(InputModel):
    """One medicine, as the Reglamento de Insumos para la Salud arts. 30-31 ask: its generic
    name (denominación genérica), presentation, dose, route, frequency, duration and quantity,
    with the instructions for the patient in their language."""

    generic_name: str = Field(
        min_length=2, max_length=120, examples=["Amoxicilina"], description="Denominación genérica."
    )
    presentation: str = Field(
        min_length=2,
        max_length=160,
        examples=["Cápsulas de 500 mg"],
        description="Form and strength.",
    )
    dose: str = Field(min_length=1, max_length=80, examples=["1 cápsula"])
    route: str = Field(min_length=2, max_length=60, examples=["Oral"])
    frequency: str = Field(min_length=2, max_length=80, examples=["Cada 8 horas"])
    duration: str = Field(min_length=2, max_length=80, examples=["7 días"])
    quantity: str = Field(
        min_length=1,
        max_length=80,
        examples=["21 cápsulas (1 caja)"],
        description="How much the pharmacy dispenses.",
    )
    instructions: str = Field(
        min_length=2,
        max_length=500,
        examples=["Tome una cápsula cada 8 horas con alimentos durante 7 días."],
        description="For the patient, in their preferred language.",
    )

    _clean = field_validator(
        "generic_name",
        "presentation",
        "dose",
        "route",
        "frequency",
        "duration",
        "quantity",
        "instructions",
    )(_stripped)


class PrescriptionCreate(InputModel):
    """A prescription for the consult's patient, issued by its treating doctor."""

    lines: list[DrugLine] = Field(min_length=1, max_length=10)
    indications: str | None = Field(
        default=None,
        max_length=2000,
        description="General indications for the patient (diet, warning signs, follow-up), "
        "in their language. Never a diagnosis: the pharmacy does not see it, but the patient "
        "prints it.",
        examples=["Tome abundantes líquidos. Regrese si la fiebre dura más de 3 días."],
    )


class RevocationIn(InputModel):
    reason: str = Field(
        min_length=3, max_length=500, examples=["Dosis equivocada; se emitió una receta nueva."]
    )

    _clean = field_validator("reason")(_stripped)


class DrugLinePublic(BaseModel):
    generic_name: str
    presentation: str
    dose: str
    route: str
    frequency: str
    duration: str
    quantity: str
    instructions: str


class PrescriberPublic(BaseModel):
    name: str
    cedula: str = Field(description="Cédula profesional.")
    specialty: str | None = None
    specialty_cedula: str | None = Field(default=None, description="Cédula de especialidad.")


class InstitutionPublic(BaseModel):
    name: str
    address: str


PrescriptionStatus = Literal["valid", "revoked"]


class PrescriptionPublic(BaseModel):
    """A prescription as its patient and its doctor read it."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    status: PrescriptionStatus
    verification_code: str = Field(description="Grouped for reading: `7KQM-2X9T-…`.")
    verification_url: str
    issued_at: Moment
    issued_on: date = Field(description="The date, in the cooperative's time zone.")
    prescriber: PrescriberPublic
    institution: InstitutionPublic
    patient_name: str
    language: str
    lines: list[DrugLinePublic]
    indications: str | None
    digest: str = Field(description="SHA-256 of the content as issued.")
    revoked_at: Moment | None
    revocation_reason: str | None
    verification_count: int
    last_verified_at: Moment | None


class PrescriptionSummary(BaseModel):
    """A prescription in a list."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    status: PrescriptionStatus
    issued_at: Moment
    prescriber_name: str
    patient_name: str
    drugs: list[str] = Field(description="The generic names.")


class PrescriptionBrief(BaseModel):
    """A consult's prescription as the counter-referral shows it to the referring clinic: what
    was prescribed and whether it still holds, with the code a pharmacy verifies it by."""

    id: uuid.UUID
    status: PrescriptionStatus = Field(description="`revoked` once the doctor withdrew it.")
    verification_code: str = Field(description="Grouped for reading: `7KQM-2X9T-…`.")
    issued_at: Moment
    issued_on: date = Field(description="The date, in the cooperative's time zone.")
    prescriber: PrescriberPublic
    lines: list[DrugLinePublic]
    indications: str | None
    revoked_at: Moment | None


class VerificationPublic(BaseModel):
    """What a pharmacy sees: whether it is valid (or revoked, and when), who issued it and
    when, and the drug lines. Nothing of the patient (not even initials) and no diagnosis: the
    paper in the patient's hand names them, and the code ties that paper to this record."""

    status: PrescriptionStatus
    valid: bool
    revoked_at: Moment | None
    issued_at: Moment
    issued_on: date
    prescriber: PrescriberPublic
    institution: InstitutionPublic
    lines: list[DrugLinePublic]
    verification_count: int = Field(description="Verifications so far, this one included.")
