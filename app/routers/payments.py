"""Payments of dues and shares, safe to retry with an Idempotency-Key."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.auth import require_scopes
from app.context import IdempotencyKey, mark_replayed
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.dues import service as dues_service
from cooperative.dues.models import Payment
from cooperative.dues.schemas import AllocationPublic, PaymentCreate, PaymentPublic
from cooperative.kernel.principal import Principal, Scope
from cooperative.membership import billing

router = APIRouter(prefix="/v1/payments", tags=["payments"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]
Writer = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_WRITE)]


async def payment_public(session: SessionDep, payment: Payment) -> PaymentPublic:
    allocations = await dues_service.allocations(session, payment.id)
    return PaymentPublic.model_validate(
        {
            **payment.model_dump(),
            "allocations": [
                AllocationPublic(invoice_id=a.invoice_id, amount_minor=a.amount_minor)
                for a in allocations
            ],
        }
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a payment",
    responses={
        200: {"description": "A retry: the payment first recorded with this Idempotency-Key."},
        **problem_responses(401, 403, 404, 422),
    },
)
async def pay(
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
    data: PaymentCreate,
    idempotency_key: IdempotencyKey = None,
) -> PaymentPublic:
    """Pay a household's dues or a member's share; it settles the oldest invoices first and any
    excess becomes a credit. From a flaky link, send an `Idempotency-Key`: however often the
    request is repeated, even concurrently, one payment is recorded and every answer is the same.
    """
    payment, replayed = await billing.pay(
        session,
        principal,
        billing.PaymentInput(**data.model_dump()),
        idempotency_key,
        timezone=request.app.state.settings.timezone,
    )
    mark_replayed(response, replayed)
    return await payment_public(session, payment)


@router.get("", summary="Payments", responses=problem_responses(400, 401, 403))
async def list_payments(
    session: SessionDep,
    principal: Reader,
    household_id: Annotated[uuid.UUID | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[PaymentPublic]:
    """Payments you made or that concern your household or share; all for admins."""
    households, members = await billing.visible_scope(session, principal)
    rows, next_cursor = await dues_service.list_payments(
        session,
        households=households,
        members=members,
        payer=principal.account_id,
        household_id=household_id,
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[await payment_public(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/{payment_id}", summary="A payment", responses=problem_responses(401, 403, 404))
async def get_payment(
    session: SessionDep, principal: Reader, payment_id: uuid.UUID
) -> PaymentPublic:
    """With how it was allocated to invoices."""
    return await payment_public(
        session, await billing.visible_payment(session, principal, payment_id)
    )
