"""Recording patronage: the only way patronage rows are written, by cooperative and telehealth
code alike (telehealth never touches these tables itself).

Each record names its source; recording the same source and kind twice records it once, and a
reversal is a new record with the opposite amount, never an edit.
"""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.membership import service as membership_service
from cooperative.membership.rules import MemberStatus
from cooperative.membership.service import Member
from cooperative.surplus.models import AllocationRun, PatronageRecord
from cooperative.surplus.rules import RunStatus

MINUTES = "minutes"
MONEY_CLASSES = ("patient",)  # patronage in money; every other class counts consult minutes


def fiscal_year(at: datetime, timezone: str) -> int:
    """The fiscal year is the calendar year in the cooperative's time zone."""
    return at.astimezone(ZoneInfo(timezone)).year


# admitted members; never applicants, the rejected or withdrawn
PATRONS = (MemberStatus.ACTIVE, MemberStatus.SUSPENDED)


async def member_of_account(session: AsyncSession, account_id: uuid.UUID) -> Member | None:
    """The account's membership, if it is one that accrues patronage."""
    member = await membership_service.member_of(session, account_id)
    return member if member is not None and member.status in PATRONS else None


async def year_is_posted(session: AsyncSession, year: int) -> bool:
    return (
        await session.execute(
            select(col(AllocationRun.id)).where(
                col(AllocationRun.fiscal_year) == year,
                col(AllocationRun.status) == RunStatus.POSTED,
            )
        )
    ).first() is not None


async def record(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    year: int,
    kind: str,
    amount: int,
    unit: str,
    source: str,
    recorded_by: uuid.UUID | None = None,
    note: str | None = None,
) -> PatronageRecord | None:
    """Record patronage once per (source, kind); None if it was already recorded."""
    row = PatronageRecord(
        member_id=member_id,
        fiscal_year=year,
        kind=kind,
        amount=amount,
        unit=unit,
        source=source,
        recorded_by=recorded_by,
        note=note,
    )
    return await _once(session, row)


async def _once(session: AsyncSession, row: PatronageRecord) -> PatronageRecord | None:
    """Insert unless its (source, kind) is recorded already: a retry records nothing more."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


async def reverse(
    session: AsyncSession,
    *,
    source: str,
    kind: str,
    recorded_by: uuid.UUID | None = None,
    note: str | None = None,
) -> PatronageRecord | None:
    """Reverse what a source recorded (in its own fiscal year), once; None if nothing to undo."""
    original = (
        await session.execute(
            select(PatronageRecord).where(
                col(PatronageRecord.source) == source, col(PatronageRecord.kind) == kind
            )
        )
    ).scalar_one_or_none()
    if original is None:
        return None
    year = original.fiscal_year
    if await year_is_posted(session, year):  # that year is allocated: the correction is today's
        year = max(year, clock.today().year)
    reversal = PatronageRecord(
        member_id=original.member_id,
        fiscal_year=year,
        kind=f"{kind}:reversal",
        amount=-original.amount,
        unit=original.unit,
        source=source,
        reverses_id=original.id,
        recorded_by=recorded_by,
        note=note,
    )
    return await _once(session, reversal)


async def consult_fulfilled(
    session: AsyncSession,
    *,
    appointment_id: uuid.UUID,
    patient_account_id: uuid.UUID,
    doctor_account_id: uuid.UUID,
    fee_minor: int,
    currency: str,
    minutes: int,
    at: datetime,
    timezone: str,
) -> None:
    """A fulfilled consult: the patient's fee (taken as paid at the visit) and the doctor's
    minutes, for whichever of them is a member."""
    year = fiscal_year(at, timezone)
    source = f"appointment:{appointment_id}"
    patient = await member_of_account(session, patient_account_id)
    if patient is not None and fee_minor > 0:
        await record(
            session,
            member_id=patient.id,
            year=year,
            kind="consult_fee",
            amount=fee_minor,
            unit=currency,
            source=source,
        )
    doctor = await member_of_account(session, doctor_account_id)
    if doctor is not None and minutes > 0:
        await record(
            session,
            member_id=doctor.id,
            year=year,
            kind="consult_minutes",
            amount=minutes,
            unit=MINUTES,
            source=source,
        )


async def consult_undone(
    session: AsyncSession,
    *,
    appointment_id: uuid.UUID,
    fee_only: bool,
    recorded_by: uuid.UUID | None,
    note: str,
) -> int:
    """A consult entered in error reverses both; a refund reverses the fee. How many reversed."""
    source = f"appointment:{appointment_id}"
    kinds = ["consult_fee"] if fee_only else ["consult_fee", "consult_minutes"]
    done = 0
    for kind in kinds:
        done += (
            await reverse(session, source=source, kind=kind, recorded_by=recorded_by, note=note)
        ) is not None
    return done
