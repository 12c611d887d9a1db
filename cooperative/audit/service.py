"""Audit of reads of personal data; the access log a member can read about themselves."""

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.audit.models import AccessLogEntry
from cooperative.audit.schemas import AccessLogEntryPublic
from cooperative.kernel.arco import exported, rows
from cooperative.kernel.context import request_id_var
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal


def _role(principal: Principal) -> str:
    for role in ("admin", "treasurer", "clinic_staff", "doctor", "patient"):
        if role in principal.roles:
            return role
    return "other"


async def record_access(
    session: AsyncSession,
    subjects: Iterable[uuid.UUID],
    accessor: Principal,
    *,
    resource: str,
    action: str = "read",
    reason: str | None = None,
) -> None:
    """Log a read of these accounts' data by `accessor`; reading your own is not logged. A
    `reason` is kept when the reader had to give one (an admin reading a clinical record)."""
    await record_reads(
        session,
        [(subject, resource) for subject in set(subjects)],
        accessor,
        action=action,
        reason=reason,
    )


async def record_reads(
    session: AsyncSession,
    reads: Iterable[tuple[uuid.UUID, str]],
    accessor: Principal,
    *,
    action: str = "read",
    reason: str | None = None,
) -> None:
    """Log several reads at once, each `(subject account, resource)` (a page of referrals, each
    its own resource): one INSERT for all of them, however many. A read through an app names
    the app (`client_id`); an app's reads of its member's own data are logged too (`app_read`)."""
    for subject, resource in reads:
        if subject == accessor.account_id:
            continue
        session.add(
            AccessLogEntry(
                subject_account_id=subject,
                accessor_account_id=accessor.account_id,
                accessor_role=_role(accessor),
                resource=resource,
                action=action,
                request_id=request_id_var.get(),
                reason=reason,
                client_id=accessor.client_id,
            )
        )
    await session.flush()


async def app_read(session: AsyncSession, accessor: Principal, *, resource: str) -> None:
    """An app read its member's data (`resource`: the operation, `GET /v1/me/appointments`):
    logged in the member's own access log under the app's name. Every read by an app is."""
    assert accessor.client_id is not None
    session.add(
        AccessLogEntry(
            subject_account_id=accessor.account_id,
            accessor_account_id=accessor.account_id,
            accessor_role="app",
            resource=resource[:80],
            action="read",
            request_id=request_id_var.get(),
            client_id=accessor.client_id,
        )
    )
    await session.flush()


async def last_app_read(
    session: AsyncSession, account_id: uuid.UUID, client_id: uuid.UUID
) -> datetime | None:
    """When this app last read this member's data."""
    latest: datetime | None = (
        await session.execute(
            select(func.max(AccessLogEntry.at)).where(
                col(AccessLogEntry.subject_account_id) == account_id,
                col(AccessLogEntry.client_id) == client_id,
            )
        )
    ).scalar_one()
    return latest


def admin_reason(principal: Principal, reason: str | None) -> str | None:
    """The reason an admin gave to read someone's clinical data, trimmed; None when the caller
    is not an admin or gave none (blank is none). Clinical data is its patient's and their
    carers': an admin reads it only with a documented reason, which `record_access` keeps with
    the read in the patient's access log; without one, an admin is answered as anyone else
    (404)."""
    if not principal.is_admin or reason is None or not reason.strip():
        return None
    return reason.strip()


def entry_public(entry: AccessLogEntry) -> AccessLogEntryPublic:
    return AccessLogEntryPublic.model_validate(entry, from_attributes=True)


AppNames = Callable[[AsyncSession, set[uuid.UUID]], Awaitable[dict[uuid.UUID, str]]]


async def access_log(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
    app_names: AppNames | None = None,
) -> Page[AccessLogEntryPublic]:
    """Who read this account's data and when, newest first; a read through an app carries
    the app's name (`app_names` finds them)."""
    rows = await paginate(
        session,
        select(AccessLogEntry).where(col(AccessLogEntry.subject_account_id) == account_id),
        time_column=col(AccessLogEntry.at),
        id_column=col(AccessLogEntry.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    found = page(rows, entry_public)
    clients = {e.client_id for e in found.items if e.client_id is not None}
    if clients and app_names is not None:
        names = await app_names(session, clients)
        for entry in found.items:
            if entry.client_id is not None:
                entry.app_name = names.get(entry.client_id)
    return found


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The whole access log of this account, for its ARCO export."""
    entries = select(AccessLogEntry).where(col(AccessLogEntry.subject_account_id) == account_id)
    return [exported(e) for e in await rows(session, entries)]
