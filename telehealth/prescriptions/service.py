"""Prescriptions: issued by a consult's treating doctor, read by its patient and that doctor,
revoked by the doctor, verified by anyone holding the code (a pharmacy)."""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.arco import exported
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, grouped, page, paginate
from cooperative.kernel.principal import Principal, Role
from cooperative.membership import service as membership_service
from telehealth.consults.rules import RoomWindow
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.prescriptions import rules, views
from telehealth.prescriptions.errors import (
    WHY_NOT,
    AlreadyRevoked,
    ControlledSubstance,
    NoCedula,
    NotPrescribable,
    NotTheTreatingDoctor,
)
from telehealth.prescriptions.models import Prescription
from telehealth.prescriptions.schemas import (
    PrescriptionBrief,
    PrescriptionCreate,
    PrescriptionSummary,
)
from telehealth.scheduling import service as scheduling


@dataclass(frozen=True, slots=True)
class Institution:
    """The cooperative as a prescription names it (from the settings)."""

    name: str
    address: str


def refuse_controlled(data: PrescriptionCreate) -> None:
    """Refuse the first drug line that names a controlled substance (LGS art. 226 fr. I-III)."""
    for number, line in enumerate(data.lines, start=1):
        found = rules.controlled_in(line.generic_name, line.presentation)
        if found is not None:
            raise ControlledSubstance(
                line=number,
                substance=found.name_es,
                substance_en=found.name_en,
                fraction=found.fraction,
                extensions={"line": number, "substance": found.name_es, "fraction": found.fraction},
            )


async def _patient_name(session: AsyncSession, appointment: scheduling.Appointment) -> str:
    """The patient's full name: the dependent's for a consult of a dependent, else the member's
    registered name, else the account's."""
    if appointment.dependent_id is not None:
        name = await membership_service.dependent_name(session, appointment.dependent_id)
        if name:
            return name
    member = await membership_service.member_of(session, appointment.patient_account_id)
    if member is not None:
        return member.full_name
    account = await accounts_service.get(session, appointment.patient_account_id)
    return account.display_name if account is not None else ""


def content_digest(prescription: Prescription) -> str:
    """SHA-256 of what the prescription says, in a canonical JSON form."""
    content = {
        "code": prescription.code,
        "issued_at": prescription.issued_at.isoformat(),
        "issued_on": prescription.issued_on.isoformat(),
        "prescriber": [
            prescription.prescriber_name,
            prescription.prescriber_cedula,
            prescription.prescriber_specialty,
            prescription.prescriber_specialty_cedula,
        ],
        "institution": [prescription.institution_name, prescription.institution_address],
        "patient": prescription.patient_name,
        "language": prescription.language,
        "lines": prescription.lines,
        "indications": prescription.indications,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def issue(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    data: PrescriptionCreate,
    *,
    window: RoomWindow,
    institution: Institution,
) -> Prescription:
    """Issue a prescription for the consult's patient; only its treating doctor may."""
    appointment = await scheduling.visible(session, principal, appointment_id)
    practitioner = await practitioners.any_by_id(session, appointment.practitioner_id)
    if practitioner.account_id != principal.account_id:
        raise NotTheTreatingDoctor()
    now = clock.now()
    why = rules.issuable(appointment.status, appointment.start, appointment.end, now, window)
    if why is not None:
        raise NotPrescribable(why=WHY_NOT[why], extensions={"reason": why})
    refuse_controlled(data)
    today = clock.day_of(now)
    licence = await practitioners.cedula_on(session, practitioner.id, today)
    if licence is None:
        raise NoCedula()
    account = await accounts_service.get(session, appointment.patient_account_id)
    specialty = next(iter(practitioner.specialties), None)
    prescription = Prescription(
        code=rules.new_code(),
        appointment_id=appointment.id,
        practitioner_id=practitioner.id,
        patient_account_id=appointment.patient_account_id,
        dependent_id=appointment.dependent_id,
        issued_by=principal.account_id,
        issued_at=now,
        issued_on=today,
        prescriber_name=practitioner.display_name,
        prescriber_cedula=licence.number,
        prescriber_specialty=(
            practitioner_rules.SPECIALTIES[specialty][1]
            if specialty in practitioner_rules.SPECIALTIES
            else None
        ),
        prescriber_specialty_cedula=licence.specialty_cedula,
        institution_name=institution.name,
        institution_address=institution.address,
        patient_name=await _patient_name(session, appointment),
        language=account.preferred_language if account is not None else "es",
        lines=[line.model_dump() for line in data.lines],
        indications=" ".join((data.indications or "").split()) or None,
        digest="",
    )
    prescription.digest = content_digest(prescription)
    session.add(prescription)
    await session.flush()
    return prescription


async def _treating_account(session: AsyncSession, prescription: Prescription) -> uuid.UUID | None:
    return await practitioners.account_of(session, prescription.practitioner_id)


async def visible(
    session: AsyncSession,
    principal: Principal,
    prescription_id: uuid.UUID,
    *,
    lock: bool = False,
    reason: str | None = None,
) -> Prescription:
    """The prescription if the caller is its patient (or the member responsible for the
    dependent it is for) or its treating doctor, or an admin who gives a `reason`; 404 for
    anyone else, admins without a reason included. A read by anyone but the patient goes in
    the patient's access log (an admin's with their reason)."""
    prescription = await session.get(Prescription, prescription_id, with_for_update=lock)
    if prescription is None:
        raise NotFound()
    why = None
    if principal.account_id != prescription.patient_account_id and principal.account_id != (
        await _treating_account(session, prescription)
    ):
        why = audit.admin_reason(principal, reason)
        if why is None:
            raise NotFound()
    await audit.record_access(
        session,
        [prescription.patient_account_id],
        principal,
        resource=f"prescription:{prescription.id}",
        reason=why,
    )
    return prescription


async def revoke(
    session: AsyncSession, principal: Principal, prescription_id: uuid.UUID, reason: str
) -> Prescription:
    """The treating doctor withdraws a prescription; verification says so from then on."""
    prescription = await visible(session, principal, prescription_id, lock=True)
    if principal.account_id != await _treating_account(session, prescription):
        raise NotTheTreatingDoctor()
    if prescription.revoked_at is not None:
        raise AlreadyRevoked(at=prescription.revoked_at)
    prescription.revoked_at = clock.now()
    prescription.revoked_by = principal.account_id
    prescription.revocation_reason = reason
    session.add(prescription)
    await session.flush()
    return prescription


def summary(prescription: Prescription) -> PrescriptionSummary:
    return PrescriptionSummary(
        id=prescription.id,
        appointment_id=prescription.appointment_id,
        status="revoked" if prescription.revoked_at is not None else "valid",
        issued_at=prescription.issued_at,
        prescriber_name=prescription.prescriber_name,
        patient_name=prescription.patient_name,
        drugs=[str(line.get("generic_name", "")) for line in prescription.lines],
    )


async def list_visible(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[PrescriptionSummary]:
    """Yours as patient (and those of your dependents), and, for a doctor, those you issued;
    newest first. The doctor's reads go in each patient's access log."""
    mine: list[Any] = [col(Prescription.patient_account_id) == principal.account_id]
    if principal.has_role(Role.DOCTOR):
        own = await practitioners.of_account(session, principal.account_id)
        if own is not None:
            mine.append(col(Prescription.practitioner_id) == own.id)
    found = await paginate(
        session,
        select(Prescription).where(or_(*mine)),
        time_column=col(Prescription.issued_at),
        id_column=col(Prescription.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    await audit.record_access(
        session, {p.patient_account_id for p in found[0]}, principal, resource="prescriptions"
    )
    return page(found, summary)


async def of_consults(
    session: AsyncSession, appointment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PrescriptionBrief]]:
    """The prescriptions of several consults in one query, each consult's in the order issued,
    as they stand now (a revoked one says so). No access check and no access log: the caller
    (the referral loop) decides who sees them and logs the read."""
    return await grouped(
        session,
        select(Prescription)
        .where(col(Prescription.appointment_id).in_(appointment_ids))
        .order_by(col(Prescription.issued_at), col(Prescription.id)),
        appointment_ids,
        lambda prescription: prescription.appointment_id,
        views.brief_public,
    )


async def verify(session: AsyncSession, code: str) -> Prescription | None:
    """The prescription with this code, counting this verification, or None. The count is one
    UPDATE in the database (`verification_count + 1`), so concurrent verifications all count."""
    canonical = rules.canonical_code(code)
    if canonical is None:
        return None
    counted = await session.execute(
        update(Prescription)
        .where(col(Prescription.code) == canonical)
        .values(
            verification_count=col(Prescription.verification_count) + 1,
            last_verified_at=clock.now(),
        )
        .returning(col(Prescription.id))
    )
    found = counted.scalar_one_or_none()
    if found is None:
        return None
    return await session.get(Prescription, found, populate_existing=True)


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The prescriptions issued to this account (and its dependents), for its ARCO export."""
    rows = await session.scalars(
        select(Prescription)
        .where(col(Prescription.patient_account_id) == account_id)
        .order_by(col(Prescription.issued_at))
    )
    return [exported(p) for p in rows]
