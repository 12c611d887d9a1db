"""Bylaws versions: install the first, adopt later ones, find the one in force."""

import hashlib
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.bylaws.errors import BylawsAlreadyInstalled, BylawsNotInstalled
from cooperative.bylaws.models import BylawsVersion
from cooperative.bylaws.schema import Bylaws
from cooperative.bylaws.schemas import BylawsVersionPublic, BylawsVersionSummary
from cooperative.kernel import clock, tables
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate


@dataclass(frozen=True, slots=True)
class InForce:
    """A bylaws document with the version number every computation from it must record."""

    number: int
    bylaws: Bylaws


_PARSED: OrderedDict[tuple[int, str], Bylaws] = OrderedDict()


def parsed(version: BylawsVersion) -> Bylaws:
    """The validated document of a stored version (cached: versions never change)."""
    key = (version.number, version.digest)
    document = _PARSED.get(key)
    if document is None:
        document = Bylaws.model_validate(version.document)
        _PARSED[key] = document
        while len(_PARSED) > 32:
            _PARSED.popitem(last=False)
    return document


def version_summary(version: BylawsVersion) -> BylawsVersionSummary:
    return BylawsVersionSummary.model_validate(version, from_attributes=True)


def version_public(version: BylawsVersion) -> BylawsVersionPublic:
    """The version with its whole document."""
    return BylawsVersionPublic(**version_summary(version).model_dump(), document=parsed(version))


def digest(document: Bylaws) -> str:
    canonical = json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_VERSION = tables.table(BylawsVersion).c
_IN_FORCE = (  # its number and digest: the document is read once per worker (`parsed`)
    select(_VERSION.number, _VERSION.digest)
    .where(_VERSION.effective_from <= bindparam("moment"))
    .order_by(_VERSION.effective_from.desc(), _VERSION.number.desc())
    .limit(1)
)


_IN_FORCE_NOW = "tequio.bylaws.in_force_now"
_REMEMBERED = timedelta(seconds=5)


async def in_force(session: AsyncSession, at: datetime | None = None) -> InForce:
    """The version in force at `at` (now by default): the latest whose effective date has come.
    Now's is read once per request (a booking asks for it to set the fee and again to say until
    when it may be cancelled free): a session remembers it for a few seconds of the clock, and
    forgets it when a version is added in the session."""
    moment = at or clock.now()
    if at is None:
        known: tuple[datetime, InForce] | None = session.info.get(_IN_FORCE_NOW)
        if known is not None and timedelta(0) <= moment - known[0] < _REMEMBERED:
            return known[1]
    row = (await session.execute(_IN_FORCE, {"moment": moment})).one_or_none()
    if row is None:
        raise BylawsNotInstalled()
    number, digest = row
    document = _PARSED.get((number, digest))
    if document is None:  # not parsed in this worker yet: read the document itself
        document = parsed(await version(session, number))
    found = InForce(number, document)
    if at is None:
        session.info[_IN_FORCE_NOW] = (moment, found)
    return found


async def version(session: AsyncSession, number: int) -> BylawsVersion:
    found = await session.get(BylawsVersion, number)
    if found is None:
        raise NotFound()
    return found


async def versions(
    session: AsyncSession, *, cursor: str | None, limit: int | None
) -> Page[BylawsVersionSummary]:
    """Every version, oldest first."""
    rows = await paginate(
        session,
        select(BylawsVersion),
        time_column=col(BylawsVersion.created_at),
        id_column=col(BylawsVersion.number),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, version_summary)


async def _add(
    session: AsyncSession,
    document: Bylaws,
    *,
    number: int,
    effective_from: datetime,
    adopted_by: str,
    account_id: uuid.UUID | None,
    proposal_id: uuid.UUID | None = None,
    note: str | None = None,
) -> BylawsVersion:
    row = BylawsVersion(
        number=number,
        effective_from=effective_from,
        document=document.model_dump(mode="json"),
        digest=digest(document),
        adopted_by=adopted_by,
        adopted_by_account_id=account_id,
        proposal_id=proposal_id,
        note=note,
    )
    session.info.pop(_IN_FORCE_NOW, None)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise BylawsAlreadyInstalled() from exc
    return row


async def install(
    session: AsyncSession,
    document: Bylaws,
    *,
    account_id: uuid.UUID | None,
    effective_from: datetime | None = None,
    note: str | None = None,
) -> BylawsVersion:
    """Install version 1. Only once: every later version comes from a governance vote."""
    existing = (await session.execute(select(func.count()).select_from(BylawsVersion))).scalar_one()
    if existing:
        raise BylawsAlreadyInstalled()
    return await _add(
        session,
        document,
        number=1,
        effective_from=effective_from or clock.now(),
        adopted_by="install",
        account_id=account_id,
        note=note,
    )


async def adopt(
    session: AsyncSession,
    document: Bylaws,
    *,
    proposal_id: uuid.UUID,
    effective_from: datetime,
    note: str | None = None,
) -> BylawsVersion:
    """A new version adopted by a passed governance proposal, in force from `effective_from`.

    Two amendments closing at the same moment both reach for the next number; the one that
    loses the race takes the number after it."""
    for _ in range(5):
        latest = (await session.execute(select(func.max(BylawsVersion.number)))).scalar_one()
        if latest is None:
            raise BylawsNotInstalled()
        try:
            return await _add(
                session,
                document,
                number=latest + 1,
                effective_from=effective_from,
                adopted_by="governance",
                account_id=None,
                proposal_id=proposal_id,
                note=note,
            )
        except BylawsAlreadyInstalled:
            continue
    raise BylawsAlreadyInstalled()
