"""Attachments of a consult: upload, list, read, signed download links, withdrawal.

Who may see a consult's attachments: its patient (the responsible member, for a dependent),
its doctor and, for a clinic-assisted consult, that clinic's staff; nobody else, admins
included (404). Every read by someone other than the patient goes in the patient's access log.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.arco import exported, rows
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal
from telehealth.attachments import rules
from telehealth.attachments.errors import (
    ConsultCancelled,
    LinkExpired,
    LinkInvalid,
    NotWithdrawable,
)
from telehealth.attachments.models import Attachment
from telehealth.attachments.schemas import AttachmentLink, AttachmentPublic
from telehealth.attachments.store import FileStore, MissingFile
from telehealth.consults import service as consults
from telehealth.scheduling.rules import AppointmentStatus
from telehealth.scheduling.service import Appointment

CLOSED = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR})


@dataclass(frozen=True, slots=True)
class Policy:
    """What the settings decide: how long a link lasts, how long an upload may be withdrawn,
    and the key links are signed with."""

    link_key: bytes
    link_lifetime: timedelta
    withdraw_window: timedelta


async def _consult(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID
) -> tuple[Appointment, str]:
    appointment, role = await consults.room_of(session, principal, appointment_id)
    if role not in rules.READERS:  # an invited interpreter helps talk, and reads no record
        raise NotFound()
    return appointment, role


def _public(attachment: Attachment, principal: Principal, policy: Policy) -> AttachmentPublic:
    mine = attachment.uploaded_by == principal.account_id
    return AttachmentPublic(
        id=attachment.id,
        appointment_id=attachment.appointment_id,
        kind=rules.Kind(attachment.kind),
        title=attachment.title,
        file_name=attachment.file_name,
        media_type=attachment.media_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        uploader_role=attachment.uploader_role,
        uploaded_by_you=mine,
        created_at=attachment.created_at,
        withdrawable_until=attachment.created_at + policy.withdraw_window if mine else None,
    )


async def upload(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    file: rules.CleanFile,
    kind: rules.Kind,
    title: str | None,
    given_name: str | None,
    store: FileStore,
    policy: Policy,
) -> AttachmentPublic:
    """Adds a cleaned file to the consult; its bytes go to the store before the row is written
    (a failed commit leaves an object nobody can reach, never a row without its bytes)."""
    appointment, role = await _consult(session, principal, appointment_id)
    if appointment.status in CLOSED:
        raise ConsultCancelled()
    attachment_id = uuid.uuid4()
    key = f"attachments/{appointment.id}/{attachment_id}"
    await store.put(key, file.data, file.media_type)
    attachment = Attachment(
        id=attachment_id,
        appointment_id=appointment.id,
        patient_account_id=appointment.patient_account_id,
        uploaded_by=principal.account_id,
        uploader_role=role,
        kind=kind,
        title=title,
        file_name=rules.file_name(given_name, file.media_type),
        media_type=file.media_type,
        size_bytes=len(file.data),
        sha256=file.sha256,
        storage_key=key,
    )
    session.add(attachment)
    await session.flush()
    return _public(attachment, principal, policy)


async def of_consult(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    policy: Policy,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[AttachmentPublic]:
    """The consult's attachments, oldest first (withdrawn ones are gone from the list)."""
    appointment, _ = await _consult(session, principal, appointment_id)
    await audit.record_access(
        session,
        [appointment.patient_account_id],
        principal,
        resource=f"attachments:{appointment.id}",
    )
    listed = await paginate(
        session,
        select(Attachment).where(
            col(Attachment.appointment_id) == appointment.id,
            col(Attachment.withdrawn_at).is_(None),
        ),
        time_column=col(Attachment.created_at),
        id_column=col(Attachment.id),
        cursor=cursor,
        limit=limit,
    )
    return page(listed, lambda attachment: _public(attachment, principal, policy))


async def _visible(
    session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, *, action: str
) -> Attachment:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.withdrawn_at is not None:
        raise NotFound()
    if attachment.appointment_id is None:  # a referral's, once referrals own attachments
        raise NotFound()
    await _consult(session, principal, attachment.appointment_id)
    await audit.record_access(
        session,
        [attachment.patient_account_id],
        principal,
        resource=f"attachment:{attachment.id}",
        action=action,
    )
    return attachment


async def get(
    session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, *, policy: Policy
) -> AttachmentPublic:
    attachment = await _visible(session, principal, attachment_id, action="read")
    return _public(attachment, principal, policy)


async def link(
    session: AsyncSession,
    principal: Principal,
    attachment_id: uuid.UUID,
    *,
    policy: Policy,
    base_url: str,
) -> AttachmentLink:
    """A link to the file's bytes, signed for this caller and valid for a few minutes."""
    attachment = await _visible(session, principal, attachment_id, action="link")
    expires = rules.link_expiry(clock.now(), policy.link_lifetime)
    signature = rules.link_signature(policy.link_key, attachment.id, principal.account_id, expires)
    url = (
        f"{base_url}/v1/attachments/{attachment.id}/download"
        f"?by={principal.account_id}&expires={expires}&signature={signature}"
    )
    return AttachmentLink(url=url, expires_at=datetime.fromtimestamp(expires, clock.now().tzinfo))


async def download(
    session: AsyncSession,
    attachment_id: uuid.UUID,
    *,
    by: uuid.UUID,
    expires: int,
    signature: str,
    store: FileStore,
    policy: Policy,
) -> tuple[Attachment, bytes]:
    """The file behind a signed link. The link is checked first (a forged one learns nothing,
    not even whether the attachment exists); then whether its holder still takes part in the
    consult (a nurse who left the clinic loses her links); the read goes in the access log."""
    verdict = rules.check_link(policy.link_key, attachment_id, by, expires, signature, clock.now())
    if verdict == "invalid":
        raise LinkInvalid()
    if verdict == "expired":
        raise LinkExpired()
    account = await accounts_service.get(session, by)
    if account is None:
        raise NotFound()
    holder = Principal(account_id=by, roles=frozenset(account.roles), scopes=frozenset())
    attachment = await _visible(session, holder, attachment_id, action="download")
    try:
        data = await store.get(attachment.storage_key)
    except MissingFile as exc:
        raise NotFound() from exc
    return attachment, data


async def withdraw(
    session: AsyncSession,
    principal: Principal,
    attachment_id: uuid.UUID,
    *,
    policy: Policy,
) -> str:
    """The uploader withdraws their own file within the window; returns the store key to
    delete once the transaction has committed. The row stays, marked withdrawn."""
    attachment = await _visible(session, principal, attachment_id, action="withdraw")
    if not rules.may_withdraw(
        uploaded_by=attachment.uploaded_by,
        caller=principal.account_id,
        uploaded_at=attachment.created_at,
        now=clock.now(),
        window=policy.withdraw_window,
    ):
        raise NotWithdrawable(hours=round(policy.withdraw_window.total_seconds() / 3600))
    attachment.withdrawn_at = clock.now()
    session.add(attachment)
    await session.flush()
    return attachment.storage_key


async def export_of(session: AsyncSession, patient_account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The patient's attachments as their ARCO export lists them: what each file is, when and
    by whom (by role) it was added; the files themselves are fetched through their links."""
    held = select(Attachment).where(col(Attachment.patient_account_id) == patient_account_id)
    return [
        exported(attachment, exclude=frozenset({"storage_key", "uploaded_by"}))
        for attachment in await rows(session, held.order_by(col(Attachment.created_at)))
    ]
