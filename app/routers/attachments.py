"""Attachments of a consult or a referral: lab results, photos and documents, and their signed
links. Attachments sit below referrals and never import them: this shell asks the referrals'
service who takes part in a referral and hands its answer to the attachments' service."""

import asyncio
import re
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import AfterValidator

from app.auth import require_scopes
from app.db import SessionDep, after_commit
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.reasons import ReasonParam
from app.settings import Settings
from cooperative.kernel.principal import Principal, Scope
from cooperative.kernel.schemas import clean_text
from telehealth.attachments import errors, rules
from telehealth.attachments import service as attachments
from telehealth.attachments.errors import (
    AttachmentHeic,
    AttachmentTooLarge,
    AttachmentTypeRefused,
    AttachmentUnreadable,
    ConsultCancelled,
    LinkExpired,
    LinkInvalid,
    NotWithdrawable,
)
from telehealth.attachments.schemas import AttachmentLink, AttachmentPublic
from telehealth.attachments.store import FileStore
from telehealth.referrals import service as referrals
from telehealth.referrals.errors import ReferralClosedToFiles

router = APIRouter(tags=["attachments"])

Reader = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_READ)]
Writer = Annotated[Principal, require_scopes(Scope.APPOINTMENTS_WRITE)]

UPLOAD_PATH = re.compile(r"/v1/(appointments|referrals)/[^/]+/attachments")  # larger bodies
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries, headers and small fields

Title = Annotated[str, AfterValidator(clean_text)]
FileField = Annotated[UploadFile, File(description="The file: JPEG, PNG, WebP or PDF.")]
KindField = Annotated[rules.Kind, Form(description="What it is to the consult or referral.")]
TitleField = Annotated[Title | None, Form(max_length=200, description="A few words.")]
FILE_PROBLEMS = (AttachmentTooLarge, AttachmentTypeRefused, AttachmentHeic, AttachmentUnreadable)


def _store(request: Request) -> FileStore:
    store: FileStore = request.app.state.attachment_store
    return store


def _policy(request: Request) -> attachments.Policy:
    settings: Settings = request.app.state.settings
    return settings.attachment_policy


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise AttachmentTooLarge(limit=limit, limit_mb=round(limit / 1_048_576, 1))
    return data


def _cleaned(data: bytes) -> rules.CleanFile:
    try:
        return rules.clean(data)
    except rules.FileRefused as refused:
        if refused.reason == rules.Refusal.HEIC:
            raise AttachmentHeic() from refused
        if refused.reason == rules.Refusal.UNKNOWN:
            raise AttachmentTypeRefused(
                found=refused.found or errors.UNKNOWN_TYPE, taken=errors.TYPES_TAKEN
            ) from refused
        reason = {
            rules.Refusal.EMPTY: errors.EMPTY,
            rules.Refusal.TOO_MANY_PIXELS: errors.TOO_MANY_PIXELS,
        }.get(refused.reason, errors.DAMAGED)
        raise AttachmentUnreadable(reason=reason) from refused


@router.post(
    "/v1/appointments/{appointment_id}/attachments",
    status_code=201,
    summary="Add a lab result, photo or document to a consult",
    responses=problem_responses(
        400,
        401,
        403,
        404,
        409,
        413,
        415,
        422,
        problems=(*FILE_PROBLEMS, ConsultCancelled),
    ),
)
async def upload(
    request: Request,
    session: SessionDep,
    principal: Writer,
    appointment_id: uuid.UUID,
    file: FileField,
    kind: KindField = rules.Kind.DOCUMENT,
    title: TitleField = None,
) -> AttachmentPublic:
    """Send a `multipart/form-data` form with `file` (as phones and browsers send a file), and
    optionally `kind` (`lab_result`, `photo` or `document`) and `title`. The patient (or the
    responsible member, for a dependent), the consult's doctor and, for a clinic-assisted
    consult, the clinic's staff may add files, before or after the consult.

    What the file is, is read from its contents, never from its name: JPEG, PNG and WebP
    photos and PDF documents are taken, anything else is refused (415). A photo is stored
    without its metadata (EXIF, GPS position, XMP, comments), upright as the phone meant it.
    At most `TEQUIO_ATTACHMENT_MAX_BYTES` (10 MB unless the cooperative set another size)."""
    cleaned = await _received(request, file)
    return await attachments.upload(
        session,
        principal,
        appointment_id,
        file=cleaned,
        kind=kind,
        title=title,
        given_name=file.filename,
        store=_store(request),
        policy=_policy(request),
    )


async def _received(request: Request, file: UploadFile) -> rules.CleanFile:
    settings: Settings = request.app.state.settings
    data = await _read_limited(file, settings.attachment_max_bytes)
    return await asyncio.to_thread(_cleaned, data)  # Pillow re-encodes off the loop


@router.get(
    "/v1/appointments/{appointment_id}/attachments",
    summary="A consult's attachments",
    responses=problem_responses(400, 401, 403, 404),
)
async def of_consult(
    request: Request,
    session: SessionDep,
    principal: Reader,
    appointment_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AttachmentPublic]:
    """Oldest first. For the patient, the consult's doctor and the clinic that booked it; the
    list is a read of the patient's record, and goes in their access log."""
    return await attachments.of_consult(
        session, principal, appointment_id, policy=_policy(request), cursor=cursor, limit=limit
    )


@router.post(
    "/v1/referrals/{referral_id}/attachments",
    status_code=201,
    summary="Add a lab result, photo or document to a referral",
    responses=problem_responses(
        400,
        401,
        403,
        404,
        409,
        413,
        415,
        422,
        problems=(*FILE_PROBLEMS, ReferralClosedToFiles),
    ),
)
async def upload_to_referral(
    request: Request,
    session: SessionDep,
    principal: Writer,
    referral_id: uuid.UUID,
    file: FileField,
    kind: KindField = rules.Kind.DOCUMENT,
    title: TitleField = None,
) -> AttachmentPublic:
    """The same form as a consult's upload. The referring clinic's staff, the patient and the
    specialist who accepted the referral may add files; the specialists still deciding whether
    to accept it may not, nor see them (404): a lab result carries the patient's name, which
    they see once they accept. A referral is created without files: add them right after
    `POST /v1/referrals`. A declined or withdrawn referral takes no more files (409)."""
    owner = await referrals.attachment_owner(session, principal, referral_id, adding=True)
    cleaned = await _received(request, file)
    return await attachments.add(
        session,
        principal,
        owner,
        file=cleaned,
        kind=kind,
        title=title,
        given_name=file.filename,
        store=_store(request),
        policy=_policy(request),
    )


@router.get(
    "/v1/referrals/{referral_id}/attachments",
    summary="A referral's attachments",
    responses=problem_responses(400, 401, 403, 404),
)
async def of_referral(
    request: Request,
    session: SessionDep,
    principal: Reader,
    referral_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AttachmentPublic]:
    """Oldest first. For the patient, the referring clinic's staff and the specialist who
    accepted the referral; the list is a read of the patient's record, and goes in their
    access log."""
    owner = await referrals.attachment_owner(session, principal, referral_id)
    return await attachments.listed(
        session, principal, owner, policy=_policy(request), cursor=cursor, limit=limit
    )


@router.get(
    "/v1/attachments/{attachment_id}",
    summary="An attachment's details",
    responses=problem_responses(401, 403, 404),
)
async def get(
    request: Request,
    session: SessionDep,
    principal: Reader,
    attachment_id: uuid.UUID,
    reason: ReasonParam = None,
) -> AttachmentPublic:
    """Its name, type, size, what it belongs to and who added it (by role). The file itself:
    `GET …/link`. For those who see its consult or referral; an admin only with a `reason`,
    kept in the patient's access log."""
    return await attachments.get(
        session,
        principal,
        attachment_id,
        policy=_policy(request),
        referral_owner=referrals.attachment_owner,
        reason=reason,
    )


@router.get(
    "/v1/attachments/{attachment_id}/link",
    summary="A short-lived link to download an attachment",
    responses=problem_responses(401, 403, 404),
)
async def link(
    request: Request,
    session: SessionDep,
    principal: Reader,
    attachment_id: uuid.UUID,
    reason: ReasonParam = None,
) -> AttachmentLink:
    """A link to the file that works without a token for a few minutes
    (`TEQUIO_ATTACHMENT_LINK_SECONDS`, 5 minutes unless set): to open in a browser or a
    phone's viewer. It is signed for you; whoever opens it, the read is recorded as yours. An
    admin gets one only with a `reason`, which the link carries (signed) into the download's
    line of the patient's access log."""
    settings: Settings = request.app.state.settings
    return await attachments.link(
        session,
        principal,
        attachment_id,
        policy=_policy(request),
        base_url=settings.public_url,
        referral_owner=referrals.attachment_owner,
        reason=reason,
    )


@router.get(
    "/v1/attachments/{attachment_id}/download",
    summary="Download an attachment through its signed link",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in rules.EXTENSIONS},
            "description": "The file as stored (a photo without its metadata).",
        },
        **problem_responses(403, 404, 422, problems=(LinkInvalid, LinkExpired)),
    },
)
async def download(
    request: Request,
    session: SessionDep,
    attachment_id: uuid.UUID,
    by: Annotated[uuid.UUID, Query(description="From the link.")],
    expires: Annotated[int, Query(ge=0, le=2**40, description="From the link.")],
    signature: Annotated[str, Query(max_length=100, description="From the link.")],
    reason: Annotated[
        str | None, Query(max_length=500, description="From an admin's link, when it has one.")
    ] = None,
) -> Response:
    """Use the `url` a `GET …/link` answered, as it is: no token needed. A link that was
    changed or has expired is refused (403) and a new one is asked for. The file comes with
    `Content-Disposition: attachment`, so a browser saves it rather than showing it in the
    page."""
    attachment, data = await attachments.download(
        session,
        attachment_id,
        by=by,
        expires=expires,
        signature=signature,
        reason=reason,
        store=_store(request),
        policy=_policy(request),
        referral_owner=referrals.attachment_owner,
    )
    name = quote(attachment.file_name)
    return Response(
        data,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "/v1/attachments/{attachment_id}",
    status_code=204,
    summary="Withdraw an attachment you uploaded",
    responses=problem_responses(401, 403, 404, 409, problems=(NotWithdrawable,)),
)
async def withdraw(
    request: Request, session: SessionDep, principal: Writer, attachment_id: uuid.UUID
) -> None:
    """Only who uploaded the file, within `TEQUIO_ATTACHMENT_WITHDRAW_HOURS` (24 unless set)
    of uploading it (a wrong photo is noticed at once): the file is deleted and the list shows
    it no more. After that it is part of the consult's (or referral's) clinical record, which
    NOM-004 keeps."""
    key = await attachments.withdraw(
        session,
        principal,
        attachment_id,
        policy=_policy(request),
        referral_owner=referrals.attachment_owner,
    )
    store = _store(request)

    async def delete_file() -> None:  # after the commit: a rolled-back withdrawal keeps it
        await store.delete(key)

    after_commit(session, delete_file)
