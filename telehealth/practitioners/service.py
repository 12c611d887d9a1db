"""Practitioners, their profiles and licences (their availability is in `availability`; slot
search across them is scheduling's)."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, bindparam, literal, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel import tables
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.pagination import Page, grouped, paginate
from cooperative.kernel.principal import Principal, Role
from telehealth.practitioners import availability, rules
from telehealth.practitioners.errors import AlreadyPractitioner, NotADoctor
from telehealth.practitioners.models import Licence, PractitionerTag
from telehealth.practitioners.models import Practitioner as Practitioner  # other domains name it
from telehealth.practitioners.schemas import (
    LicenceIn,
    LicencePublic,
    PractitionerCreate,
    PractitionerPublic,
    WindowPublic,
)


async def create(session: AsyncSession, data: PractitionerCreate) -> Practitioner:
    account = await accounts_service.get(session, data.account_id)
    if account is None or Role.DOCTOR.value not in account.roles:
        raise NotADoctor()
    practitioner = Practitioner(**data.model_dump())
    try:
        async with session.begin_nested():
            session.add(practitioner)
    except IntegrityError as exc:
        raise AlreadyPractitioner() from exc
    session.add_all(tags_of(practitioner))
    await session.flush()
    return practitioner


def tags_of(practitioner: Practitioner) -> list[PractitionerTag]:
    """The rows slot search filters this practitioner by (its specialties, the primary subtags
    of its languages)."""
    values = {("specialty", code) for code in practitioner.specialties}
    values |= {("language", rules.primary_language(tag)) for tag in practitioner.languages}
    return [
        PractitionerTag(practitioner_id=practitioner.id, kind=kind, value=value)
        for kind, value in sorted(values)
    ]


def offering(
    practitioner_id: Mapped[uuid.UUID],
    *,
    specialty: str | None,
    language: str | None,
    jurisdiction: str | None,
    licensed_on: date,
) -> list[ColumnElement[bool]]:
    """SQL conditions on a column of practitioner ids: active, of the specialty, speaking the
    language, and holding a licence the visit's jurisdiction needs that is still valid on
    `licensed_on` (whether it covers each day is `rules.licensed_for`'s to say). Each is an
    indexed lookup per row, so a search costs the same whatever the number of practitioners.

    Each is checked row by row as the search walks its index in start order: `OFFSET 0` keeps
    PostgreSQL from turning the check into a join it might start from (every pediatrician's
    slots read and sorted to return fifty: a cost that grows with their number)."""
    checks = [select(1).where(col(Practitioner.id) == practitioner_id, col(Practitioner.active))]
    for kind, value in (
        ("specialty", specialty),
        ("language", rules.primary_language(language) if language else None),
    ):
        if value is not None:
            checks.append(
                select(1).where(
                    col(PractitionerTag.practitioner_id) == practitioner_id,
                    col(PractitionerTag.kind) == kind,
                    col(PractitionerTag.value) == value,
                )
            )
    if jurisdiction is not None:
        checks.append(
            select(1).where(
                col(Licence.practitioner_id) == practitioner_id,
                col(Licence.jurisdiction) == rules.licence_needed(jurisdiction),
                col(Licence.expires_on) >= licensed_on,
            )
        )
    return [check.offset(0).exists() for check in checks]


def facets(practitioner_id: uuid.UUID | None = None) -> CompoundSelect[Any]:
    """(practitioner id, kind, value) of what a slot search filters by: the tags (specialty,
    language) and the jurisdiction of every licence held (whether one is valid on a day is the
    search's to check); of one practitioner, or of all."""
    tags = select(
        col(PractitionerTag.practitioner_id), col(PractitionerTag.kind), col(PractitionerTag.value)
    )
    held = select(col(Licence.practitioner_id), literal("jurisdiction"), col(Licence.jurisdiction))
    if practitioner_id is not None:
        tags = tags.where(col(PractitionerTag.practitioner_id) == practitioner_id)
        held = held.where(col(Licence.practitioner_id) == practitioner_id)
    return union(tags, held)  # a licence renewed is held twice: filed once


async def by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Practitioner]:
    """Several practitioners in one query, by id."""
    if not ids:
        return {}
    rows = await session.execute(select(Practitioner).where(col(Practitioner.id).in_(ids)))
    return {row.id: row for row in rows.scalars()}


_LOCKED = "tequio.practitioners.locked"


async def get(
    session: AsyncSession, practitioner_id: uuid.UUID, *, lock: bool = False
) -> Practitioner:
    """The active practitioner; `lock` holds the row until the transaction ends, and keeps it in
    `session` meanwhile (the identity map holds rows weakly), so a later `get` in the same
    transaction (the response naming the doctor) finds it there instead of reading it again."""
    practitioner = await session.get(Practitioner, practitioner_id, with_for_update=lock)
    if practitioner is None or not practitioner.active:
        raise NotFound()
    if lock:
        session.info.setdefault(_LOCKED, []).append(practitioner)
    return practitioner


_ACCOUNT = accounts_service.Account
_LOCKED_WITH_ACCOUNT = (  # built once: building it cost as much as running it
    select(Practitioner, _ACCOUNT)
    .join(_ACCOUNT, col(_ACCOUNT.id) == col(Practitioner.account_id))
    .where(col(Practitioner.id) == bindparam("id"))
    .with_for_update(of=Practitioner)
)


async def locked_with_account(session: AsyncSession, practitioner_id: uuid.UUID) -> Practitioner:
    """`get(lock=True)` that reads the doctor's account in the same statement (only the
    practitioner's row is locked), for a change that writes to the doctor (a booking's notice):
    the account is then in `session`, kept there as the practitioner is."""
    row = (await session.execute(_LOCKED_WITH_ACCOUNT, {"id": practitioner_id})).first()
    if row is None or not row[0].active:
        raise NotFound()
    session.info.setdefault(_LOCKED, []).extend(row)
    practitioner: Practitioner = row[0]
    return practitioner


async def any_by_id(
    session: AsyncSession, practitioner_id: uuid.UUID, *, lock: bool = False
) -> Practitioner:
    """The practitioner, whether or not they still practise here (an appointment's doctor)."""
    practitioner = await session.get(Practitioner, practitioner_id, with_for_update=lock)
    if practitioner is None:
        raise NotFound()
    return practitioner


async def of_account(session: AsyncSession, account_id: uuid.UUID) -> Practitioner | None:
    return (
        await session.execute(
            select(Practitioner).where(col(Practitioner.account_id) == account_id)
        )
    ).scalar_one_or_none()


async def list_active(
    session: AsyncSession, *, cursor: str | None, limit: int | None
) -> Page[PractitionerPublic]:
    """A page of the active doctors as the directory shows them: three statements whatever
    the page's size (the page, its doctors' licences, their weekly windows)."""
    found, next_cursor = await paginate(
        session,
        select(Practitioner).where(col(Practitioner.active)),
        time_column=col(Practitioner.created_at),
        id_column=col(Practitioner.id),
        cursor=cursor,
        limit=limit,
    )
    return Page(items=await public_many(session, found), next_cursor=next_cursor)


async def licences(session: AsyncSession, practitioner_id: uuid.UUID) -> list[Licence]:
    return (await _licences(session, [practitioner_id]))[practitioner_id]


async def _licences(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Licence]]:
    """The licences of several practitioners in one query, each's by jurisdiction and expiry."""
    return await grouped(
        session,
        select(Licence)
        .where(col(Licence.practitioner_id).in_(ids))
        .order_by(col(Licence.jurisdiction), col(Licence.expires_on)),
        ids,
        lambda licence: licence.practitioner_id,
        lambda licence: licence,
    )


async def public(session: AsyncSession, practitioner: Practitioner) -> PractitionerPublic:
    return (await public_many(session, [practitioner]))[0]


async def public_many(
    session: AsyncSession, found: Sequence[Practitioner]
) -> list[PractitionerPublic]:
    """Several doctors as the directory shows them, their licences and weekly windows read in
    one statement each (not two a doctor)."""
    ids = [practitioner.id for practitioner in found]
    licensed = await _licences(session, ids)
    windows = await availability.weekly_windows_of(session, ids)
    return [
        PractitionerPublic(
            id=practitioner.id,
            display_name=practitioner.display_name,
            specialties=practitioner.specialties,
            languages=practitioner.languages,
            timezone=practitioner.timezone,
            slot_minutes=practitioner.slot_minutes,
            buffer_minutes=practitioner.buffer_minutes,
            min_notice_minutes=practitioner.min_notice_minutes,
            horizon_days=practitioner.horizon_days,
            licences=[
                LicencePublic(
                    jurisdiction=lic.jurisdiction,
                    number=lic.number,
                    specialty_cedula=lic.specialty_cedula,
                    expires_on=lic.expires_on,
                )
                for lic in licensed[practitioner.id]
            ],
            windows=[
                WindowPublic(weekday=w.weekday, start=w.start, end=w.end)
                for w in windows[practitioner.id]
            ],
        )
        for practitioner in found
    ]


async def add_licence(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: LicenceIn
) -> Practitioner:
    """Licences are recorded by an admin, who checks the document."""
    if not principal.is_admin:
        raise Forbidden(
            reason=Text(
                "an admin records licences after checking them",
                "un administrador registra las licencias después de verificarlas",
            )
        )
    practitioner = await get(session, practitioner_id)
    session.add(Licence(practitioner_id=practitioner.id, **data.model_dump()))
    await session.flush()
    return practitioner


_LICENCE = tables.table(Licence).c
_LICENCES = select(  # the facts the rules take, not the rows (loading those cost more)
    _LICENCE.practitioner_id, _LICENCE.jurisdiction, _LICENCE.expires_on
).where(_LICENCE.practitioner_id.in_(bindparam("ids", expanding=True)))


async def licences_of(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[rules.LicenceFact]]:
    """The licences of several practitioners in one query, by practitioner."""
    rows = await session.execute(_LICENCES, {"ids": list(ids)})
    grouped: dict[uuid.UUID, list[rules.LicenceFact]] = {i: [] for i in ids}
    for practitioner_id, jurisdiction, expires_on in rows:
        grouped[practitioner_id].append(rules.LicenceFact(jurisdiction, expires_on))
    return grouped


async def active_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(select(col(Practitioner.id)).where(col(Practitioner.active)))
    return list(rows.scalars())


async def account_of(session: AsyncSession, practitioner_id: uuid.UUID) -> uuid.UUID | None:
    """The doctor's account, whether or not the practitioner still practises here."""
    practitioner = await session.get(Practitioner, practitioner_id)
    return practitioner.account_id if practitioner is not None else None


async def cedula_on(session: AsyncSession, practitioner_id: uuid.UUID, on: date) -> Licence | None:
    """The doctor's Mexican licence (cédula profesional, and the specialty cédula if any) in
    force on `on`, the one expiring last when several are."""
    rows = await session.execute(
        select(Licence)
        .where(col(Licence.practitioner_id) == practitioner_id)
        .where(col(Licence.jurisdiction) == "MX")
        .where(col(Licence.expires_on) >= on)
        .order_by(col(Licence.expires_on).desc(), col(Licence.created_at).desc())
        .limit(1)
    )
    return rows.scalars().first()
