"""Tequio's public schemas as FHIR R4 resources (plain JSON dicts): one function per resource,
pure, so each is tested by validating what it builds (`fhir.resources` in the tests)."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cooperative.kernel import moments
from telehealth.attachments.schemas import AttachmentPublic
from telehealth.clinics.schemas import ClinicPublic
from telehealth.practitioners.rules import SPECIALTIES
from telehealth.practitioners.schemas import LicencePublic, PractitionerPublic
from telehealth.prescriptions.schemas import PrescriptionPublic
from telehealth.records.schemas import EncounterPublic
from telehealth.referrals.schemas import OpenReferralPublic, ReferralPublic
from telehealth.scheduling.schemas import AppointmentPublic, PatientSummary

Json = dict[str, Any]

BCP47 = "urn:ietf:bcp:47"
SPECIALTY_SYSTEM = "https://tequio.coop/fhir/CodeSystem/specialty"
MODALITY_SYSTEM = "https://tequio.coop/fhir/CodeSystem/consult-modality"
LICENCE_SYSTEM = "https://tequio.coop/fhir/NamingSystem/licence/"  # + the jurisdiction
CEDULA_SYSTEM = "https://www.cedulaprofesional.sep.gob.mx"  # Mexico's registry (SEP)
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LANGUAGE_EXTENSION = "https://tequio.coop/fhir/StructureDefinition/language"
INTERPRETER_LANGUAGE = "https://tequio.coop/fhir/StructureDefinition/interpreter-language"
TELEHEALTH = "telehealth"  # the id of the virtual Location where every consult takes place


def instant(moment: datetime) -> str:
    """An instant with the reader's offset, as every answer of the API shows one (FHIR's
    `instant` and `dateTime` take any offset)."""
    return moments.shown(moment).isoformat()


def ref(resource: str, ident: uuid.UUID | str, display: str | None = None) -> Json:
    found: Json = {"reference": f"{resource}/{ident}"}
    if display:
        found["display"] = display
    return found


def language(code: str) -> Json:
    return {"coding": [{"system": BCP47, "code": code}], "text": code}


def specialty(code: str) -> Json:
    english = SPECIALTIES.get(code, (code, code))[0]
    return {"coding": [{"system": SPECIALTY_SYSTEM, "code": code, "display": english}]}


def _qualification(licence: LicencePublic) -> Json:
    mexican = licence.jurisdiction == "MX"
    end = datetime.combine(licence.expires_on, time(23, 59, 59), tzinfo=UTC)
    name = "Cédula profesional" if mexican else f"Medical licence ({licence.jurisdiction})"
    return {
        "identifier": [
            {
                "system": CEDULA_SYSTEM if mexican else LICENCE_SYSTEM + licence.jurisdiction,
                "value": licence.number,
            }
        ],
        "code": {
            "coding": [{"system": LICENCE_SYSTEM.rstrip("/"), "code": licence.jurisdiction}],
            "text": name,
        },
        "period": {"end": instant(end)},
        "issuer": {"display": licence.jurisdiction},
    }


def practitioner(doctor: PractitionerPublic) -> Json:
    qualifications = [_qualification(licence) for licence in doctor.licences]
    qualifications += [
        {
            "identifier": [{"system": CEDULA_SYSTEM, "value": licence.specialty_cedula}],
            "code": {"text": "Cédula de especialidad"},
            "issuer": {"display": "MX"},
        }
        for licence in doctor.licences
        if licence.specialty_cedula
    ]
    return {
        "resourceType": "Practitioner",
        "id": str(doctor.id),
        "active": True,
        "name": [{"text": doctor.display_name}],
        "communication": [language(code) for code in doctor.languages],
        "qualification": qualifications,
    }


def practitioner_role(doctor: PractitionerPublic) -> Json:
    """One role per practitioner (same id): the specialties, the virtual location, and the
    languages (R4's PractitionerRole has no `communication`: they are the Practitioner's, and
    repeated here in an extension so that a role found by language shows it)."""
    return {
        "resourceType": "PractitionerRole",
        "id": str(doctor.id),
        "active": True,
        "practitioner": ref("Practitioner", doctor.id, doctor.display_name),
        "specialty": [specialty(code) for code in doctor.specialties],
        "location": [ref("Location", TELEHEALTH, "Tequio telehealth")],
        "extension": [
            {
                "url": LANGUAGE_EXTENSION,
                "valueCodeableConcept": language(code),
            }
            for code in doctor.languages
        ],
    }


def organization(clinic: ClinicPublic) -> Json:
    return {
        "resourceType": "Organization",
        "id": str(clinic.id),
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                    }
                ]
            }
        ],
        "name": clinic.name,
        "address": [_address(clinic)],
    }


def _address(clinic: ClinicPublic) -> Json:
    country, _, state = clinic.jurisdiction.partition("-")
    found: Json = {"city": clinic.municipality, "country": country}
    if state:
        found["state"] = state
    return found


def location(clinic: ClinicPublic) -> Json:
    return {
        "resourceType": "Location",
        "id": str(clinic.id),
        "status": "active",
        "name": clinic.name,
        "mode": "instance",
        "address": _address(clinic),
        "managingOrganization": ref("Organization", clinic.id, clinic.name),
        "extension": [
            {
                "url": "https://tequio.coop/fhir/StructureDefinition/rural",
                "valueBoolean": clinic.rural,
            }
        ],
    }


def telehealth_location(base_url: str) -> Json:
    """Where every consult takes place: a video call (SMART Scheduling Links wants a Location
    behind each Schedule)."""
    return {
        "resourceType": "Location",
        "id": TELEHEALTH,
        "status": "active",
        "name": "Tequio telehealth",
        "description": "Video consults with the cooperative's doctors, from anywhere.",
        "mode": "kind",
        "type": [{"coding": [{"system": ACT_CODE, "code": "VR", "display": "virtual"}]}],
        "telecom": [{"system": "url", "value": base_url}],
        "address": {"country": "MX"},
    }


def schedule(doctor: PractitionerPublic, today: date) -> Json:
    return {
        "resourceType": "Schedule",
        "id": str(doctor.id),
        "active": True,
        "serviceType": [specialty(code) for code in doctor.specialties],
        "actor": [
            ref("Practitioner", doctor.id, doctor.display_name),
            ref("Location", TELEHEALTH, "Tequio telehealth"),
        ],
        "planningHorizon": {
            "start": today.isoformat(),
            "end": (today + timedelta(days=doctor.horizon_days)).isoformat(),
        },
    }


def slot_id(practitioner_id: uuid.UUID, start: datetime) -> str:
    return f"{practitioner_id}-{int(start.timestamp())}"


def parse_slot_id(ident: str) -> tuple[uuid.UUID, datetime] | None:
    head, _, seconds = ident.rpartition("-")
    try:
        return uuid.UUID(head), datetime.fromtimestamp(int(seconds), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def slot(
    practitioner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    specialties: list[str],
) -> Json:
    """An open slot (`free`: only open slots are published). No `booking-deep-link` (the
    extension SMART Scheduling Links allows): Tequio has no booking page yet for it to open,
    and a link to nothing is worse than none."""
    return {
        "resourceType": "Slot",
        "id": slot_id(practitioner_id, start),
        "schedule": ref("Schedule", practitioner_id),
        "status": "free",
        "start": instant(start),
        "end": instant(end),
        "specialty": [specialty(code) for code in specialties],
    }


def _patient_name(patient: PatientSummary | None) -> str | None:
    if patient is None:
        return None
    return patient.dependent_name or patient.display_name


def appointment(found: AppointmentPublic) -> Json:
    doctor = found.practitioner
    participants: list[Json] = [
        {
            "actor": ref("Patient", found.patient_account_id, _patient_name(found.patient)),
            "status": "accepted",
        },
        {
            "type": [{"coding": [{"system": PARTICIPATION, "code": "PPRF"}]}],
            "actor": ref("Practitioner", doctor.id, doctor.display_name),
            "status": "accepted",
        },
    ]
    if found.clinic_id is not None:
        participants.append(
            {
                "type": [{"coding": [{"system": PARTICIPATION, "code": "LOC"}]}],
                "actor": ref("Location", found.clinic_id),
                "status": "accepted",
            }
        )
    if found.interpreter_needed:
        participants.append(
            {
                "type": [
                    {
                        "coding": [{"system": PARTICIPATION, "code": "TRANS"}],
                        "text": f"Interpreter ({found.preferred_language})",
                    }
                ],
                "status": "needs-action",
                "extension": [{"url": INTERPRETER_LANGUAGE, "valueCode": found.preferred_language}],
            }
        )
    resource: Json = {
        "resourceType": "Appointment",
        "id": str(found.id),
        "status": str(found.status),  # Tequio's statuses are FHIR's
        "serviceType": [specialty(code) for code in doctor.specialties],
        "start": instant(found.start),
        "end": instant(found.end),
        "created": instant(found.created_at),
        "participant": participants,
        "extension": [
            {
                "url": "https://tequio.coop/fhir/StructureDefinition/preferred-language",
                "valueCode": found.preferred_language,
            }
        ],
    }
    reasons = [text for text in (found.reason, found.referral_reason) if text]
    if reasons:
        resource["reasonCode"] = [{"text": text} for text in reasons]
    if found.status_reason:
        resource["cancelationReason"] = {"text": found.status_reason}
    return resource


def patient(account_id: uuid.UUID, display_name: str) -> Json:
    return {
        "resourceType": "Patient",
        "id": str(account_id),
        "active": True,
        "name": [{"text": display_name}],
    }


ENCOUNTER_CLASS = {"system": ACT_CODE, "code": "VR", "display": "virtual"}
MODALITY_DISPLAY = {
    "video": "Video",
    "audio_only": "Audio only",
    "relayed": "Relayed through the server",
    "switched": "Switched between modalities",
}


def encounter(found: EncounterPublic) -> Json:
    resource: Json = {
        "resourceType": "Encounter",
        "id": str(found.appointment_id),
        "status": "finished" if found.took_place else "planned",
        "class": ENCOUNTER_CLASS,
        "appointment": [ref("Appointment", found.appointment_id)],
    }
    if found.modality is not None:
        resource["type"] = [
            {
                "coding": [
                    {
                        "system": MODALITY_SYSTEM,
                        "code": found.modality,
                        "display": MODALITY_DISPLAY[found.modality],
                    }
                ]
            }
        ]
    if found.modalities:
        period: Json = {"start": instant(found.modalities[0].start)}
        last = found.modalities[-1].end
        if last is not None:
            period["end"] = instant(last)
        resource["period"] = period
    return resource


REFERRAL_STATUS = {
    "sent": "active",
    "accepted": "active",
    "answered": "active",
    "scheduled": "active",
    "completed": "completed",
    "declined": "revoked",
    "withdrawn": "revoked",
}
PRIORITY = {"routine": "routine", "priority": "urgent", "urgent": "asap"}


def service_request(found: ReferralPublic | OpenReferralPublic) -> Json:
    """A referral; a specialist still deciding whether to accept it sees no patient (as in the
    REST API), so its subject is only said to be withheld."""
    full = isinstance(found, ReferralPublic)
    resource: Json = {
        "resourceType": "ServiceRequest",
        "id": str(found.id),
        "status": REFERRAL_STATUS[found.state],
        "intent": "order",
        "priority": PRIORITY[found.urgency],
        "category": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "3457005",
                        "display": "Patient referral",
                    }
                ]
            }
        ],
        "code": specialty(found.specialty),
        "subject": ref("Patient", found.patient_account_id, found.patient_name)
        if isinstance(found, ReferralPublic)
        else {"display": "Withheld until a specialist accepts the referral"},
        "authoredOn": instant(found.created_at),
        "reasonCode": [{"text": found.reason}],
        "note": [
            {"text": f"Clinical summary: {found.clinical_summary}"},
            {"text": f"Diagnostic impression: {found.diagnostic_impression}"},
            {"text": f"Treatment given: {found.treatment_given}"},
        ],
        "extension": [
            {
                "url": "https://tequio.coop/fhir/StructureDefinition/preferred-language",
                "valueCode": found.language,
            }
        ],
    }
    if full:
        assert isinstance(found, ReferralPublic)
        resource["requester"] = ref("Organization", found.clinic_id, found.clinic_name)
        if found.practitioner_id is not None:
            resource["performer"] = [
                ref("Practitioner", found.practitioner_id, found.practitioner_name)
            ]
        if found.appointment_id is not None:
            resource["encounter"] = ref("Encounter", found.appointment_id)
    else:
        resource["requester"] = {"display": found.clinic_name}
    return resource


def medication_request(found: PrescriptionPublic) -> Json:
    """One MedicationRequest per prescription; each drug line is a `contained` Medication
    with its dosage (R4 orders one medication per request: the lines are the dosages, each
    naming its drug)."""
    resource: Json = {
        "resourceType": "MedicationRequest",
        "id": str(found.id),
        "identifier": [
            {
                "system": "https://tequio.coop/fhir/NamingSystem/prescription-code",
                "value": found.verification_code,
            }
        ],
        "status": "active" if found.status == "valid" else "revoked",
        "intent": "order",
        "medicationCodeableConcept": {
            "text": "; ".join(line.generic_name for line in found.lines) or "—"
        },
        "subject": {"display": found.patient_name},
        "encounter": ref("Encounter", found.appointment_id),
        "authoredOn": instant(found.issued_at),
        "requester": {"display": f"{found.prescriber.name} (cédula {found.prescriber.cedula})"},
        "dosageInstruction": [
            {
                "sequence": index,
                "text": (
                    f"{line.generic_name} {line.presentation}: {line.dose}, {line.route}, "
                    f"{line.frequency}, {line.duration}"
                    + (f". {line.instructions}" if line.instructions else "")
                ),
                "route": {"text": line.route},
            }
            for index, line in enumerate(found.lines, start=1)
        ],
    }
    if found.indications:
        resource["note"] = [{"text": found.indications}]
    return resource


DOCUMENT_TYPES = {
    "lab_result": ("11502-2", "Laboratory report"),
    "photo": ("72170-4", "Photographic image"),
    "document": ("51855-5", "Patient Note"),
}


def document_reference(found: AttachmentPublic, base_url: str) -> Json:
    """An attachment: its metadata, and the address that hands out its signed download link
    (the bytes are never inline)."""
    loinc, display = DOCUMENT_TYPES.get(found.kind, DOCUMENT_TYPES["document"])
    resource: Json = {
        "resourceType": "DocumentReference",
        "id": str(found.id),
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
        "date": instant(found.created_at),
        "content": [
            {
                "attachment": {
                    "contentType": found.media_type,
                    "url": f"{base_url}/v1/attachments/{found.id}/link",
                    "size": found.size_bytes,
                    "title": found.title or found.file_name,
                    "creation": instant(found.created_at),
                }
            }
        ],
    }
    if found.appointment_id is not None:
        resource["context"] = {"encounter": [ref("Encounter", found.appointment_id)]}
    if found.referral_id is not None:
        resource["context"] = {"related": [ref("ServiceRequest", found.referral_id)]}
    return resource
