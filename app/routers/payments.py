"""Payments: members report them, treasurers confirm or reject them; safe to retry."""

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse

from app.auth import insufficient_scope, require_any_scope, require_scopes
from app.context import IdempotencyKey, mark_replayed
from app.db import SessionDep, after_commit
from app.errors import UnsupportedMediaType, problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.settings import Settings
from app.webhooks import payment_event
from cooperative.dues import receipts, views
from cooperative.dues import service as dues_service
from cooperative.dues.schemas import (
    PaymentConfirm,
    PaymentCreate,
    PaymentPublic,
    PaymentReject,
)
from cooperative.kernel.errors import NotFound, Text
from cooperative.kernel.principal import Principal, Scope
from cooperative.treasury import payments

router = APIRouter(prefix="/v1/payments", tags=["payments"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]
Writer = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_WRITE)]
Treasurer = Annotated[Principal, require_scopes(Scope.PAYMENTS_CONFIRM)]
Reporter = Annotated[Principal, require_any_scope(Scope.MEMBERSHIP_WRITE, Scope.PAYMENTS_CONFIRM)]
RECEIPT_PATH = re.compile(r"/v1/payments/[^/]+/receipt")  # takes bodies up to 5 MB


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Report a payment (or record money received)",
    responses={
        200: {"description": "A retry: the payment first recorded with this Idempotency-Key."},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def report(
    request: Request,
    session: SessionDep,
    principal: Reporter,
    response: Response,
    data: PaymentCreate,
    idempotency_key: IdempotencyKey = None,
) -> PaymentPublic:
    """Report that you paid a household's dues or a member's share, with the reference a
    treasurer can check it by. It is `reported`: it settles nothing, gives no credit, no good
    standing and no patronage until a treasurer confirms it; until then you may withdraw it.

    A treasurer recording money received (cash at the desk, a bank statement line) sends
    `received_on`: the payment is confirmed at once, by that treasurer (never for their own
    household or share), converted at the rate in force that day.

    From a flaky link, send an `Idempotency-Key`: however often the request is repeated, even
    concurrently, one payment is recorded and every answer is the same.
    """
    if data.received_on is None and Scope.MEMBERSHIP_WRITE.value not in principal.scopes:
        raise insufficient_scope(Scope.MEMBERSHIP_WRITE)
    payment, replayed = await payments.report(
        session,
        principal,
        payments.PaymentInput(**data.model_dump()),
        idempotency_key,
        timezone=request.app.state.settings.timezone,
    )
    if not replayed:
        await payment_event(session, payment)
    mark_replayed(response, replayed)
    return await views.payment_public(session, payment)


@router.get("", summary="Payments", responses=problem_responses(400, 401, 403, 422))
async def list_payments(
    session: SessionDep,
    principal: Reader,
    household_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[
        Literal["reported", "confirmed", "rejected", "withdrawn"] | None,
        Query(description="`reported`: the payments waiting for a treasurer."),
    ] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[PaymentPublic]:
    """Payments you reported or that concern your household or share, with their status, the
    reason of a rejection and the rate used; every payment for treasurers and admins, oldest
    first — `status=reported` is the review queue."""
    households, members = await payments.listing_scope(session, principal)
    listed = await dues_service.list_payments(
        session,
        households=households,
        members=members,
        payer=principal.account_id,
        household_id=household_id,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    await payments.record_listed(session, principal, [p.payer_account_id for p in listed.items])
    return listed


@router.get("/{payment_id}", summary="A payment", responses=problem_responses(401, 403, 404))
async def get_payment(
    session: SessionDep, principal: Reader, payment_id: uuid.UUID
) -> PaymentPublic:
    """With its status and how it was allocated to invoices."""
    return await views.payment_public(
        session, await payments.visible(session, principal, payment_id)
    )


@router.post(
    "/{payment_id}/confirm",
    summary="Confirm a reported payment (treasurer)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def confirm(
    request: Request,
    session: SessionDep,
    principal: Treasurer,
    response: Response,
    payment_id: uuid.UUID,
    data: PaymentConfirm | None = None,
) -> PaymentPublic:
    """The money arrived. The payment settles the oldest open invoices first, keeps any excess
    as a credit for later ones, and the dues paid become the payer's patronage. A payment in
    another currency than the one owed is converted at the treasurer's rate in force on
    `received_on` (`no-exchange-rate` if there is none: record one first).

    A treasurer never confirms a payment they reported, nor one for their own household or
    share (`own-payment`); an admin may. Confirming again answers the first confirmation and
    settles nothing more; a rejected or withdrawn payment is not confirmed (409)."""
    payment, replayed = await payments.confirm(
        session,
        principal,
        payment_id,
        data.received_on if data else None,
        timezone=request.app.state.settings.timezone,
    )
    if not replayed:
        await payment_event(session, payment)
    mark_replayed(response, replayed)
    return await views.payment_public(session, payment)


@router.post(
    "/{payment_id}/reject",
    summary="Reject a reported payment (treasurer)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reject(
    session: SessionDep,
    principal: Treasurer,
    response: Response,
    payment_id: uuid.UUID,
    data: PaymentReject,
) -> PaymentPublic:
    """No such money arrived: nothing is settled, and the payer sees the `reason`. Rejecting
    again answers the first rejection; a confirmed payment is not rejected (409)."""
    payment, replayed = await payments.reject(session, principal, payment_id, data.reason)
    mark_replayed(response, replayed)
    return await views.payment_public(session, payment)


@router.post(
    "/{payment_id}/withdraw",
    summary="Withdraw your report",
    responses=problem_responses(401, 403, 404, 409),
)
async def withdraw(
    session: SessionDep, principal: Writer, response: Response, payment_id: uuid.UUID
) -> PaymentPublic:
    """Take back a payment you reported while it is still pending (a mistake, a remittance
    that never left). Withdrawing again answers the same; a decided payment stays (409)."""
    payment, replayed = await payments.withdraw(session, principal, payment_id)
    mark_replayed(response, replayed)
    return await views.payment_public(session, payment)


def _write_private(path: Path, data: bytes) -> None:
    """Readable by the service's user only; written whole, then moved into place."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)


@router.put(
    "/{payment_id}/receipt",
    summary="Add a receipt photo to your report",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
)
async def put_receipt(
    request: Request, session: SessionDep, principal: Writer, payment_id: uuid.UUID
) -> PaymentPublic:
    """Send the photo of the remittance or deposit slip as the body (`Content-Type:
    image/jpeg` or `image/png`, at most 5 MB), while the payment is still reported; a new
    photo replaces the old one. What the file is, is read from its bytes; its metadata (the
    GPS position, the phone, the time) is removed before it is stored. Only the reporter, the
    household's managers, treasurers and admins can see it."""
    await payments.visible(session, principal, payment_id)  # a stranger learns nothing more
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in receipts.EXTENSIONS:
        raise UnsupportedMediaType(
            expected=Text("image/jpeg or image/png", "image/jpeg o image/png")
        )
    image = receipts.clean(await request.body())
    payment, replaced = await payments.attach_receipt(session, principal, payment_id, image)
    settings: Settings = request.app.state.settings
    name = dues_service.receipt_file_name(payment)
    assert name is not None
    await asyncio.to_thread(_write_private, settings.receipts_dir / name, image.data)
    if replaced is not None:

        async def forget_old() -> None:  # after the commit: a rolled-back upload keeps it
            (settings.receipts_dir / replaced).unlink(missing_ok=True)

        after_commit(session, forget_old)
    return await views.payment_public(session, payment)


@router.get(
    "/{payment_id}/receipt",
    summary="A payment's receipt photo",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"image/jpeg": {}, "image/png": {}},
            "description": "The photo, without its metadata.",
        },
        **problem_responses(401, 403, 404),
    },
)
async def get_receipt(
    request: Request, session: SessionDep, principal: Reader, payment_id: uuid.UUID
) -> FileResponse:
    """For who reported the payment, the household's managers, treasurers and admins; every
    read by someone other than the reporter is recorded in the reporter's access log."""
    payment = await payments.receipt(session, principal, payment_id)
    settings: Settings = request.app.state.settings
    name = dues_service.receipt_file_name(payment)
    assert name is not None and payment.receipt_media_type is not None
    path = settings.receipts_dir / name
    if not path.is_file():
        raise NotFound()
    return FileResponse(  # the access log's entry commits before the file is sent
        path,
        media_type=payment.receipt_media_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
