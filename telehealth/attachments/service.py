"""Attachments of a consult or a referral: upload, list, read, signed download links,
withdrawal.

Who may see a consult's attachments: its patient (the responsible member, for a dependent),
its doctor and, for a clinic-assisted consult, that clinic's staff. A referral's: whom the
referrals' service says (this package sits below referrals and never imports them: the HTTP
shell passes their answer in, as an `OwnerOf`). Nobody else, admins included (404), unless an
admin gives a documented reason to read one attachment. Every read by someone other than the
patient goes in the patient's access log (an admin's with the reason).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.arco import exported, rows
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal, Scope
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


@dataclass(frozen=True, slots=True)
class Owner:
    """What attachments belong to (a consult or a referral, exactly one), its patient, and the
    caller's part in it (`patient`, `guardian`, `doctor` or `clinic`, recorded with an upload).
    An Owner is only made once the owner's domain has decided that the caller takes part."""

    patient_account_id: uuid.UUID
    role: str
    appointment_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None

    @property
    def listing(self) -> str:
        """The access log's name for a read of the whole list."""
        if self.appointment_id is not None:
            return f"attachments:{self.appointment_id}"
        return f"referral-attachments:{self.referral_id}"

    @property
    def folder(self) -> str:
        if self.appointment_id is not None:
            return f"attachments/{self.appointment_id}"
        return f"attachments/referrals/{self.referral_id}"


OwnerOf = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[Owner]]
"""Whether the caller takes part in a referral (its id), as an Owner, or 404: the referrals'
service answers, and the HTTP shell hands its answer to the functions here that need it."""


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
        referral_id=attachment.referral_id,
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
    """Adds a cleaned file to the consult (not to a cancelled one)."""
    appointment, role = await _consult(session, principal, appointment_id)
    if appointment.status in CLOSED:
        raise ConsultCancelled()
    owner = Owner(appointment.patient_account_id, role, appointment_id=appointment.id)
    return await add(
        session,
        principal,
        owner,
        file=file,
        kind=kind,
        title=title,
        given_name=given_name,
        store=store,
        policy=policy,
    )


async def add(
    session: AsyncSession,
    principal: Principal,
    owner: Owner,
    *,
    file: rules.CleanFile,
    kind: rules.Kind,
    title: str | None,
    given_name: str | None,
    store: FileStore,
    policy: Policy,
) -> AttachmentPublic:
    """Adds a cleaned file to its owner; its bytes go to the store before the row is written
    (a failed commit leaves an object nobody can reach, never a row without its bytes)."""
    attachment_id = uuid.uuid4()
    key = f"{owner.folder}/{attachment_id}"
    await store.put(key, file.data, file.media_type)
    attachment = Attachment(
        id=attachment_id,
        appointment_id=owner.appointment_id,
        referral_id=owner.referral_id,
        patient_account_id=owner.patient_account_id,
        uploaded_by=principal.account_id,
        uploader_role=owner.role,
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
    appointment, role = await _consult(session, principal, appointment_id)
    owner = Owner(appointment.patient_account_id, role, appointment_id=appointment.id)
    return await listed(session, principal, owner, policy=policy, cursor=cursor, limit=limit)


async def listed(
    session: AsyncSession,
    principal: Principal,
    owner: Owner,
    *,
    policy: Policy,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[AttachmentPublic]:
    """The owner's attachments, oldest first, without the withdrawn ones; the list is a read
    of the patient's record, in their access log."""
    await audit.record_access(
        session, [owner.patient_account_id], principal, resource=owner.listing
    )
    belongs = (
        col(Attachment.appointment_id) == owner.appointment_id
        if owner.appointment_id is not None
        else col(Attachment.referral_id) == owner.referral_id
    )
    found = await paginate(
        session,
        select(Attachment).where(belongs, col(Attachment.withdrawn_at).is_(None)),
        time_column=col(Attachment.created_at),
        id_column=col(Attachment.id),
        cursor=cursor,
        limit=limit,
    )
    return page(found, lambda attachment: _public(attachment, principal, policy))


async def _visible(
    session: AsyncSession,
    principal: Principal,
    attachment_id: uuid.UUID,
    *,
    action: str,
    referral_owner: OwnerOf,
    reason: str | None = None,
) -> tuple[Attachment, str | None]:
    """The attachment if the caller takes part in its consult or referral, or is an admin who
    gave a reason (returned, as kept); 404 for anyone else. The read goes in the patient's
    access log."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.withdrawn_at is not None:
        raise NotFound()
    why = None
    try:
        if attachment.appointment_id is not None:
            await _consult(session, principal, attachment.appointment_id)
        else:
            assert attachment.referral_id is not None  # the database's one_owner check
            await referral_owner(session, principal, attachment.referral_id)
    except NotFound:
        why = audit.admin_reason(principal, reason)
        if why is None:
            raise
    await audit.record_access(
        session,
        [attachment.patient_account_id],
        principal,
        resource=f"attachment:{attachment.id}",
        action=action,
        reason=why,
    )
    return attachment, why


async def get(
    session: AsyncSession,
    principal: Principal,
    attachment_id: uuid.UUID,
    *,
    policy: Policy,
    referral_owner: OwnerOf,
    reason: str | None = None,
) -> AttachmentPublic:
    attachment, _ = await _visible(
        session,
        principal,
        attachment_id,
        action="read",
        referral_owner=referral_owner,
        reason=reason,
    )
    return _public(attachment, principal, policy)


async def link(
    session: AsyncSession,
    principal: Principal,
    attachment_id: uuid.UUID,
    *,
    policy: Policy,
    base_url: str,
    referral_owner: OwnerOf,
    reason: str | None = None,
) -> AttachmentLink:
    """A link to the file's bytes, signed for this caller and valid for a few minutes. An
    admin's link carries their reason, signed with it, so the download is logged with it."""
    attachment, why = await _visible(
        session,
        principal,
        attachment_id,
        action="link",
        referral_owner=referral_owner,
        reason=reason,
    )
    expires = rules.link_expiry(clock.now(), policy.link_lifetime)
    signature = rules.link_signature(
        policy.link_key, attachment.id, principal.account_id, expires, reason=why
    )
    query: dict[str, Any] = {"by": principal.account_id, "expires": expires, "signature": signature}
    if why is not None:
        query["reason"] = why
    url = f"{base_url}/v1/attachments/{attachment.id}/download?{urlencode(query)}"
    return AttachmentLink(url=url, expires_at=datetime.fromtimestamp(expires, clock.now().tzinfo))


async def download(
    session: AsyncSession,
    attachment_id: uuid.UUID,
    *,
    by: uuid.UUID,
    expires: int,
    signature: str,
    reason: str | None = None,
    store: FileStore,
    policy: Policy,
    referral_owner: OwnerOf,
) -> tuple[Attachment, bytes]:
    """The file behind a signed link. The link is checked first (a forged one learns nothing,
    not even whether the attachment exists); then whether its holder still takes part in the
    consult or referral (a nurse who left the clinic loses her links); the read goes in the
    access log."""
    verdict = rules.check_link(
        policy.link_key, attachment_id, by, expires, signature, clock.now(), reason=reason
    )
    if verdict == "invalid":
        raise LinkInvalid()
    if verdict == "expired":
        raise LinkExpired()
    account = await accounts_service.get(session, by)
    if account is None:
        raise NotFound()
    # Only an admin using the admin scope is given a link with a reason (it is signed into the
    # link), so such a link carries that scope; the role is checked again, as it is now.
    scopes = frozenset({Scope.ADMIN.value}) if reason is not None else frozenset()
    holder = Principal(account_id=by, roles=frozenset(account.roles), scopes=scopes)
    attachment, _ = await _visible(
        session,
        holder,
        attachment_id,
        action="download",
        referral_owner=referral_owner,
        reason=reason,
    )
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
    referral_owner: OwnerOf,
) -> str:
    """The uploader withdraws their own file within the window; returns the store key to
    delete once the transaction has committed. The row stays, marked withdrawn."""
    attachment, _ = await _visible(
        session, principal, attachment_id, action="withdraw", referral_owner=referral_owner
    )
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
    """The patient's attachments (their consults' and their referrals') as their ARCO export
    lists them: what each file is, what it belongs to, when and by whom (by role) it was
    added; the files themselves are fetched through their links."""
    held = select(Attachment).where(col(Attachment.patient_account_id) == patient_account_id)
    return [
        exported(attachment, exclude=frozenset({"storage_key", "uploaded_by"}))
        for attachment in await rows(session, held.order_by(col(Attachment.created_at)))
    ]
