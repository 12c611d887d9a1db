"""A prescription as its readers see it: whole for its patient and doctor, and the little a
pharmacy sees when it verifies the code."""

from typing import Any

from telehealth.prescriptions import rules
from telehealth.prescriptions.models import Prescription
from telehealth.prescriptions.schemas import (
    DrugLinePublic,
    InstitutionPublic,
    PrescriberPublic,
    PrescriptionBrief,
    PrescriptionPublic,
    PrescriptionStatus,
    VerificationPublic,
)

VERIFY_PATH = "/v1/prescriptions/verify/"


def verification_url(base_url: str, prescription: Prescription) -> str:
    """The public address a pharmacy opens (the QR code holds it)."""
    return f"{base_url.rstrip('/')}{VERIFY_PATH}{rules.grouped(prescription.code)}"


def status_of(prescription: Prescription) -> PrescriptionStatus:
    return "revoked" if prescription.revoked_at is not None else "valid"


def prescriber(prescription: Prescription) -> PrescriberPublic:
    return PrescriberPublic(
        name=prescription.prescriber_name,
        cedula=prescription.prescriber_cedula,
        specialty=prescription.prescriber_specialty,
        specialty_cedula=prescription.prescriber_specialty_cedula,
    )


def institution(prescription: Prescription) -> InstitutionPublic:
    return InstitutionPublic(
        name=prescription.institution_name, address=prescription.institution_address
    )


def lines(prescription: Prescription) -> list[DrugLinePublic]:
    return [DrugLinePublic.model_validate(line) for line in prescription.lines]


def prescription_public(prescription: Prescription, base_url: str) -> PrescriptionPublic:
    fields: dict[str, Any] = {
        key: getattr(prescription, key)
        for key in (
            "id",
            "appointment_id",
            "issued_at",
            "issued_on",
            "patient_name",
            "language",
            "indications",
            "digest",
            "revoked_at",
            "revocation_reason",
            "verification_count",
            "last_verified_at",
        )
    }
    return PrescriptionPublic(
        **fields,
        status=status_of(prescription),
        verification_code=rules.grouped(prescription.code),
        verification_url=verification_url(base_url, prescription),
        prescriber=prescriber(prescription),
        institution=institution(prescription),
        lines=lines(prescription),
    )


def verification_public(prescription: Prescription) -> VerificationPublic:
    return VerificationPublic(
        status=status_of(prescription),
        valid=prescription.revoked_at is None,
        revoked_at=prescription.revoked_at,
        issued_at=prescription.issued_at,
        issued_on=prescription.issued_on,
        prescriber=prescriber(prescription),
        institution=institution(prescription),
        lines=lines(prescription),
        verification_count=prescription.verification_count,
    )


def brief_public(prescription: Prescription) -> PrescriptionBrief:
    return PrescriptionBrief(
        id=prescription.id,
        status=status_of(prescription),
        verification_code=rules.grouped(prescription.code),
        issued_at=prescription.issued_at,
        issued_on=prescription.issued_on,
        prescriber=prescriber(prescription),
        lines=lines(prescription),
        indications=prescription.indications,
        revoked_at=prescription.revoked_at,
    )
