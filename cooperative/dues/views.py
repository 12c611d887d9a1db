"""Invoices and payments as the API shows them: their rows become response models here."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.dues.models import Invoice, Payment, PaymentAllocation
from cooperative.dues.schemas import AllocationPublic, InvoicePublic, PaymentPublic, ReceiptPublic
from cooperative.kernel.pagination import grouped


def invoice_public(invoice: Invoice) -> InvoicePublic:
    return InvoicePublic.model_validate(
        {**invoice.model_dump(), "outstanding_minor": invoice.amount_minor - invoice.paid_minor}
    )


def _receipt(payment: Payment) -> ReceiptPublic | None:
    if payment.receipt_media_type is None or payment.receipt_uploaded_at is None:
        return None
    return ReceiptPublic(
        media_type=payment.receipt_media_type,
        bytes=payment.receipt_bytes or 0,
        sha256=payment.receipt_sha256 or "",
        uploaded_at=payment.receipt_uploaded_at,
    )


async def payment_public(session: AsyncSession, payment: Payment) -> PaymentPublic:
    """The payment with how it was allocated to invoices, oldest allocation first."""
    return (await payments_public(session, [payment]))[0]


async def payments_public(
    session: AsyncSession, payments: Sequence[Payment]
) -> list[PaymentPublic]:
    """Several payments as `payment_public` shows them, their allocations read in one
    statement for them all (a page of the treasurer's queue, not one statement a payment)."""
    ids = [payment.id for payment in payments]
    allocations = await grouped(
        session,
        select(PaymentAllocation)
        .where(col(PaymentAllocation.payment_id).in_(ids))
        .order_by(col(PaymentAllocation.created_at), col(PaymentAllocation.id)),
        ids,
        lambda allocation: allocation.payment_id,
        lambda a: AllocationPublic(invoice_id=a.invoice_id, amount_minor=a.amount_minor),
    )
    return [
        PaymentPublic.model_validate(
            {
                **payment.model_dump(),
                "allocations": allocations[payment.id],
                "receipt": _receipt(payment),
            }
        )
        for payment in payments
    ]
